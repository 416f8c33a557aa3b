// Nova's quota resources (nova/quota.py QUOTAS) and their [quota] defaults
// (nova/conf/quota.py). One place names them, in Nova's order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace chronova {

// Every resource of os-quota-sets at microversion 2.1, in Nova's order.
const std::vector<std::string>& QuotaResourceNames();

// nova.conf's [quota] defaults: instances 10, cores 20, ram 51200,
// metadata_items 128, injected_files 5, injected_file_content_bytes 10240,
// injected_file_path_bytes 255, key_pairs 100, server_groups 10,
// server_group_members 10, and the deprecated nova-network ones (fixed_ips,
// floating_ips, security_groups, security_group_rules) at -1 (unlimited).
std::map<std::string, int64_t> DefaultQuotaLimits();

// The [quota] INI key of a resource ("injected_file_path_length" for
// injected_file_path_bytes, as nova.conf spells it); the name otherwise.
std::string QuotaConfigKey(const std::string& resource);

}  // namespace chronova
