#include "api/service/quotas.h"

namespace chronova {

const std::vector<std::string>& QuotaResourceNames() {
  static const std::vector<std::string> kNames = {"instances",
                                                  "cores",
                                                  "ram",
                                                  "metadata_items",
                                                  "injected_files",
                                                  "injected_file_content_bytes",
                                                  "injected_file_path_bytes",
                                                  "key_pairs",
                                                  "server_groups",
                                                  "server_group_members",
                                                  "fixed_ips",
                                                  "floating_ips",
                                                  "security_groups",
                                                  "security_group_rules"};
  return kNames;
}

std::map<std::string, int64_t> DefaultQuotaLimits() {
  // nova/conf/quota.py; the nova-network leftovers have no option: -1.
  return {{"instances", 10},
          {"cores", 20},
          {"ram", 50 * 1024},
          {"metadata_items", 128},
          {"injected_files", 5},
          {"injected_file_content_bytes", 10 * 1024},
          {"injected_file_path_bytes", 255},
          {"key_pairs", 100},
          {"server_groups", 10},
          {"server_group_members", 10},
          {"fixed_ips", -1},
          {"floating_ips", -1},
          {"security_groups", -1},
          {"security_group_rules", -1}};
}

std::string QuotaConfigKey(const std::string& resource) {
  return resource == "injected_file_path_bytes" ? "injected_file_path_length" : resource;
}

}  // namespace chronova
