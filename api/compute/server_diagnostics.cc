// GET /servers/{id}/diagnostics (nova/api/openstack/compute/
// server_diagnostics.py): the guest's counters as its compute host reads them
// now. Before 2.48 the libvirt driver's flat dictionary (cpu0_time, vda_read,
// memory ...); from 2.48 Nova's standardized shape (views/server_diagnostics.py).
#include "api/compute/common.h"
#include "api/compute/resource.h"

namespace chronova {
namespace {

constexpr ApiVersion kStandardized{2, 48};

// nova/virt/libvirt/driver.py get_diagnostics.
Json LegacyView(const GuestDiagnostics& d) {
  Json out = Json::MakeObject();
  for (const GuestDiagnostics::Cpu& c : d.cpus) {
    out["cpu" + std::to_string(c.id) + "_time"] = c.time_ns;
  }
  for (const GuestDiagnostics::Disk& disk : d.disks) {
    out[disk.device + "_read_req"] = disk.read_requests;
    out[disk.device + "_read"] = disk.read_bytes;
    out[disk.device + "_write_req"] = disk.write_requests;
    out[disk.device + "_write"] = disk.write_bytes;
    out[disk.device + "_errors"] = disk.errors;
  }
  for (const GuestDiagnostics::Nic& nic : d.nics) {
    if (!nic.has_stats) continue;
    out[nic.device + "_rx"] = nic.rx_octets;
    out[nic.device + "_rx_packets"] = nic.rx_packets;
    out[nic.device + "_rx_errors"] = nic.rx_errors;
    out[nic.device + "_rx_drop"] = nic.rx_drop;
    out[nic.device + "_tx"] = nic.tx_octets;
    out[nic.device + "_tx_packets"] = nic.tx_packets;
    out[nic.device + "_tx_errors"] = nic.tx_errors;
    out[nic.device + "_tx_drop"] = nic.tx_drop;
  }
  out["memory"] = d.memory_max_kib;
  for (const auto& [key, value] : d.memory_stats) out["memory-" + key] = value;
  return out;
}

// nova/virt/libvirt/driver.py get_instance_diagnostics through
// views/server_diagnostics.py: every field, null where unknown. Memory is in
// MiB; the uptime counts from the launch the read model recorded.
Json StandardView(const ComputeService::ServerDiagnostics& sd, Timestamp now) {
  const GuestDiagnostics& d = sd.guest;
  Json out = Json::MakeObject();
  out["state"] = d.state;
  out["driver"] = d.driver;
  out["hypervisor"] = d.hypervisor;
  out["hypervisor_os"] = d.hypervisor_os;
  out["uptime"] = sd.server.launched_at.micros == 0
                      ? Json()
                      : Json((now.micros - sd.server.launched_at.micros) / 1000000);
  out["config_drive"] = d.config_drive;
  out["num_cpus"] = static_cast<int64_t>(d.cpus.size());
  out["num_nics"] = static_cast<int64_t>(d.nics.size());
  out["num_disks"] = static_cast<int64_t>(d.disks.size());
  Json disks = Json::MakeArray();
  for (const GuestDiagnostics::Disk& disk : d.disks) {
    disks.Append(Json::MakeObject({{"read_bytes", disk.read_bytes},
                                   {"read_requests", disk.read_requests},
                                   {"write_bytes", disk.write_bytes},
                                   {"write_requests", disk.write_requests},
                                   {"errors_count", disk.errors}}));
  }
  out["disk_details"] = std::move(disks);
  Json cpus = Json::MakeArray();
  for (const GuestDiagnostics::Cpu& c : d.cpus) {
    cpus.Append(
        Json::MakeObject({{"id", c.id}, {"time", c.time_ns}, {"utilisation", Json()}}));
  }
  out["cpu_details"] = std::move(cpus);
  Json nics = Json::MakeArray();
  for (const GuestDiagnostics::Nic& nic : d.nics) {
    auto counter = [&](int64_t v) { return nic.has_stats ? Json(v) : Json(); };
    nics.Append(Json::MakeObject({
        {"mac_address", nic.mac_address.empty() ? Json() : Json(nic.mac_address)},
        {"rx_octets", counter(nic.rx_octets)},
        {"rx_errors", counter(nic.rx_errors)},
        {"rx_drop", counter(nic.rx_drop)},
        {"rx_packets", counter(nic.rx_packets)},
        {"rx_rate", Json()},
        {"tx_octets", counter(nic.tx_octets)},
        {"tx_errors", counter(nic.tx_errors)},
        {"tx_drop", counter(nic.tx_drop)},
        {"tx_packets", counter(nic.tx_packets)},
        {"tx_rate", Json()},
    }));
  }
  out["nic_details"] = std::move(nics);
  out["memory_details"] = Json::MakeObject(
      {{"maximum", d.memory_max_kib / 1024}, {"used", d.memory_used_kib / 1024}});
  return out;
}

class ServerDiagnosticsResource final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse Show(const ComputeCall& call) const {
    Result<ComputeService::ServerDiagnostics> d =
        options_.service->GetServerDiagnostics(call.ctx, InstanceId(call.params[0]));
    if (!d.ok()) return ErrorResponse(d.status());
    if (call.version < kStandardized) return JsonResponse(200, LegacyView(d->guest));
    return JsonResponse(200, StandardView(*d, options_.env->Now()));
  }
};

}  // namespace

void AddServerDiagnosticsRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const ServerDiagnosticsResource>(options);
  routes->Add("GET", "servers/*/diagnostics", Bind(r, &ServerDiagnosticsResource::Show));
}

}  // namespace chronova
