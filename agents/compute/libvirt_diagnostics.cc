// LibvirtHypervisor::Diagnostics: what Nova's libvirt driver reads for
// os-server-diagnostics (get_diagnostics, get_instance_diagnostics): the
// domain's info (state, memory), each vCPU's time, and the counters of each
// disk and interface its XML names. Counters a hypervisor does not support
// are left out, as Nova leaves them out.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "agents/compute/domain_xml.h"
#include "agents/compute/libvirt_hypervisor.h"

namespace chronova {
namespace {

// virDomainMemoryStats' tags under the names libvirt-python gives them.
const char* MemoryStatName(int tag) {
  switch (tag) {
    case VIR_DOMAIN_MEMORY_STAT_SWAP_IN:
      return "swap_in";
    case VIR_DOMAIN_MEMORY_STAT_SWAP_OUT:
      return "swap_out";
    case VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT:
      return "major_fault";
    case VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT:
      return "minor_fault";
    case VIR_DOMAIN_MEMORY_STAT_UNUSED:
      return "unused";
    case VIR_DOMAIN_MEMORY_STAT_AVAILABLE:
      return "available";
    case VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON:
      return "actual";
    case VIR_DOMAIN_MEMORY_STAT_RSS:
      return "rss";
    case VIR_DOMAIN_MEMORY_STAT_USABLE:
      return "usable";
    case VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE:
      return "last_update";
    default:
      return nullptr;
  }
}

}  // namespace

Result<GuestDiagnostics> LibvirtHypervisor::Diagnostics(const InstanceId& id) {
  const std::string name = DomainName(id);
  std::unique_ptr<virDomain, decltype(&virDomainFree)> dom(
      virDomainLookupByName(conn_, name.c_str()), virDomainFree);
  if (dom == nullptr) return Status::NotFound("no guest " + name);
  virDomainInfo info{};
  if (virDomainGetInfo(dom.get(), &info) < 0) {
    virErrorPtr err = virGetLastError();
    return Status::Internal("libvirt: info of " + name + ": " +
                            (err != nullptr && err->message ? err->message : "unknown"));
  }
  GuestDiagnostics d;
  d.state = PowerStateName(LibvirtPowerState(info.state));
  d.driver = "libvirt";
  d.hypervisor = test_driver_ ? "test" : options_.virt_type;
  d.memory_max_kib = static_cast<int64_t>(info.maxMem);
  d.memory_used_kib = static_cast<int64_t>(info.memory);

  // Per-vCPU time: not every hypervisor (or a stopped guest) has it.
  std::vector<virVcpuInfo> vcpus(info.nrVirtCpu);
  const int n = info.nrVirtCpu == 0 ? 0
                                    : virDomainGetVcpus(dom.get(), vcpus.data(),
                                                        info.nrVirtCpu, nullptr, 0);
  for (int i = 0; i < n; ++i) {
    d.cpus.push_back({static_cast<int32_t>(vcpus[static_cast<size_t>(i)].number),
                      static_cast<int64_t>(vcpus[static_cast<size_t>(i)].cpuTime)});
  }

  char* raw_xml = virDomainGetXMLDesc(dom.get(), 0);
  const std::string xml = raw_xml != nullptr ? raw_xml : "";
  free(raw_xml);  // NOLINT: allocated by libvirt with malloc
  const DomainDevices devices = DevicesOf(xml);
  for (const std::string& dev : devices.disks) {
    virDomainBlockStatsStruct st{};
    if (virDomainBlockStats(dom.get(), dev.c_str(), &st, sizeof(st)) < 0) continue;
    d.disks.push_back({dev, st.rd_req, st.rd_bytes, st.wr_req, st.wr_bytes, st.errs});
  }
  for (const DomainDevices::Nic& nic : devices.nics) {
    GuestDiagnostics::Nic out;
    out.mac_address = nic.mac_address;
    out.device = nic.device;
    virDomainInterfaceStatsStruct st{};
    if (!nic.device.empty() &&
        virDomainInterfaceStats(dom.get(), nic.device.c_str(), &st, sizeof(st)) == 0) {
      out.has_stats = true;
      out.rx_octets = st.rx_bytes;
      out.rx_packets = st.rx_packets;
      out.rx_errors = st.rx_errs;
      out.rx_drop = st.rx_drop;
      out.tx_octets = st.tx_bytes;
      out.tx_packets = st.tx_packets;
      out.tx_errors = st.tx_errs;
      out.tx_drop = st.tx_drop;
    }
    d.nics.push_back(std::move(out));
  }
  virDomainMemoryStatStruct stats[VIR_DOMAIN_MEMORY_STAT_NR];
  const int m = virDomainMemoryStats(dom.get(), stats, VIR_DOMAIN_MEMORY_STAT_NR, 0);
  for (int i = 0; i < m; ++i) {
    if (const char* key = MemoryStatName(stats[i].tag)) {
      d.memory_stats[key] = static_cast<int64_t>(stats[i].val);
    }
  }
  virResetLastError();  // the counters it could not read are simply absent
  return d;
}

}  // namespace chronova
