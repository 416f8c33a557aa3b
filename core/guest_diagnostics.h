// What a compute host reports about one guest for os-server-diagnostics
// (Nova's virt driver get_diagnostics / get_instance_diagnostics): live
// counters, asked of the host when an admin asks (docs/api.md). Not history:
// nothing here is logged.
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace chronova {

struct GuestDiagnostics {
  // Nova's power state names: running, paused, shutdown, crashed, suspended,
  // pending.
  std::string state;
  std::string driver;      // "libvirt"
  std::string hypervisor;  // the libvirt virt_type: "kvm", "qemu" (or "test")
  std::string hypervisor_os = "linux";
  bool config_drive = false;
  int64_t memory_max_kib = 0;
  int64_t memory_used_kib = 0;
  // virDomainMemoryStats by Nova's key names ("actual", "rss", ...).
  std::map<std::string, int64_t> memory_stats;

  struct Cpu {
    int32_t id = 0;
    int64_t time_ns = 0;
    template <class A>
    void serialize(A& ar) {
      ar(CEREAL_NVP(id), CEREAL_NVP(time_ns));
    }
  };
  std::vector<Cpu> cpus;

  struct Disk {
    std::string device;  // "vda"
    int64_t read_requests = 0, read_bytes = 0, write_requests = 0, write_bytes = 0,
            errors = 0;
    template <class A>
    void serialize(A& ar) {
      ar(CEREAL_NVP(device), CEREAL_NVP(read_requests), CEREAL_NVP(read_bytes),
         CEREAL_NVP(write_requests), CEREAL_NVP(write_bytes), CEREAL_NVP(errors));
    }
  };
  std::vector<Disk> disks;

  struct Nic {
    std::string mac_address;
    std::string device;      // the host-side tap ("" if it has none)
    bool has_stats = false;  // counters below read from the device
    int64_t rx_octets = 0, rx_packets = 0, rx_errors = 0, rx_drop = 0;
    int64_t tx_octets = 0, tx_packets = 0, tx_errors = 0, tx_drop = 0;
    template <class A>
    void serialize(A& ar) {
      ar(CEREAL_NVP(mac_address), CEREAL_NVP(device), CEREAL_NVP(has_stats),
         CEREAL_NVP(rx_octets), CEREAL_NVP(rx_packets), CEREAL_NVP(rx_errors),
         CEREAL_NVP(rx_drop), CEREAL_NVP(tx_octets), CEREAL_NVP(tx_packets),
         CEREAL_NVP(tx_errors), CEREAL_NVP(tx_drop));
    }
  };
  std::vector<Nic> nics;

  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(state), CEREAL_NVP(driver), CEREAL_NVP(hypervisor),
       CEREAL_NVP(hypervisor_os), CEREAL_NVP(config_drive), CEREAL_NVP(memory_max_kib),
       CEREAL_NVP(memory_used_kib), CEREAL_NVP(memory_stats), CEREAL_NVP(cpus),
       CEREAL_NVP(disks), CEREAL_NVP(nics));
  }
};

}  // namespace chronova
