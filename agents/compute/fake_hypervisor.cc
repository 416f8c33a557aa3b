#include "agents/compute/fake_hypervisor.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace chronova {

FakeHypervisor::FakeHypervisor(HostCapacity capacity, std::string state_file)
    : capacity_(std::move(capacity)), state_file_(std::move(state_file)) {
  if (state_file_.empty()) return;
  // One guest per line: "<instance id> <power state number>".
  std::ifstream in(state_file_);
  std::string id;
  int power = 0;
  while (in >> id >> power) {
    GuestInfo& g = guests_[InstanceId(id)];
    g.instance_id = InstanceId(id);
    g.domain_name = DomainName(g.instance_id);
    g.power_state = static_cast<PowerState>(power);
  }
}

void FakeHypervisor::Save() {
  if (state_file_.empty()) return;
  std::ostringstream text;
  for (const auto& [id, g] : guests_)
    text << id.str() << ' ' << static_cast<int>(g.power_state) << '\n';
  const std::string tmp = state_file_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text.str();
    if (!out) return;  // the guests stay in memory; the next change tries again
  }
  std::rename(tmp.c_str(), state_file_.c_str());
}

Result<GuestInfo> FakeHypervisor::Spawn(const GuestSpec& spec) {
  std::lock_guard<std::mutex> l(mu_);
  if (!fail_next_.ok()) {
    Status st = fail_next_;
    fail_next_ = Status::Ok();
    return st;
  }
  GuestInfo& g = guests_[spec.instance_id];
  g.instance_id = spec.instance_id;
  g.domain_name = DomainName(spec.instance_id);
  g.power_state = PowerState::kRunning;
  Save();
  GuestInfo spawned = g;
  for (const char* kind : {"vnc", "spice", "serial"})
    spawned.consoles[kind] = "on demand";
  return spawned;
}

Status FakeHypervisor::Destroy(const InstanceId& id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    guests_.erase(id);
    Save();
  }
  consoles_.Close(id);
  return Status::Ok();
}

Result<GuestInfo> FakeHypervisor::Perform(const InstanceId& id, LifecycleAction action,
                                          bool) {
  std::lock_guard<std::mutex> l(mu_);
  if (!fail_next_action_.ok()) {
    Status st = fail_next_action_;
    fail_next_action_ = Status::Ok();
    return st;
  }
  auto it = guests_.find(id);
  if (it == guests_.end()) return Status::NotFound("no guest " + DomainName(id));
  switch (action) {
    case LifecycleAction::kStop:
    case LifecycleAction::kSuspend:  // saved to disk: the domain is shut off
      it->second.power_state = PowerState::kShutdown;
      break;
    case LifecycleAction::kPause:
      it->second.power_state = PowerState::kPaused;
      break;
    case LifecycleAction::kStart:
    case LifecycleAction::kReboot:
    case LifecycleAction::kUnpause:
    case LifecycleAction::kResume:
    case LifecycleAction::kRescue:  // the rescue guest runs
    case LifecycleAction::kUnrescue:
      it->second.power_state = PowerState::kRunning;
      break;
  }
  Save();
  return it->second;
}

Status FakeHypervisor::Snapshot(const GuestSpec& spec, const std::string& out_path) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!fail_next_snapshot_.ok()) {
      Status st = fail_next_snapshot_;
      fail_next_snapshot_ = Status::Ok();
      return st;
    }
    if (!guests_.count(spec.instance_id))
      return Status::NotFound("no guest " + DomainName(spec.instance_id));
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out << "fake snapshot of " << DomainName(spec.instance_id) << "\n";
  out.close();
  if (!out) return Status::Internal("fake: write " + out_path);
  return Status::Ok();
}

void FakeHypervisor::FailNextSnapshot(Status st) {
  std::lock_guard<std::mutex> l(mu_);
  fail_next_snapshot_ = std::move(st);
}

void FakeHypervisor::FailNextAction(Status st) {
  std::lock_guard<std::mutex> l(mu_);
  fail_next_action_ = std::move(st);
}

Result<GuestInfo> FakeHypervisor::Inspect(const InstanceId& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = guests_.find(id);
  if (it == guests_.end()) return Status::NotFound("no guest " + DomainName(id));
  return it->second;
}

Result<std::string> FakeHypervisor::ConsoleOutput(const InstanceId& id) {
  CHRONOVA_RETURN_IF_ERROR(Inspect(id).status());
  return std::string("FAKE CONSOLE OUTPUT\nANOTHER\nLAST LINE");
}

Result<GuestDiagnostics> FakeHypervisor::Diagnostics(const InstanceId& id) {
  CHRONOVA_ASSIGN_OR_RETURN(GuestInfo g, Inspect(id));
  // Nova's fake driver answers fixed counters (nova/virt/fake.py
  // get_instance_diagnostics), in the libvirt driver's name so that clients
  // checking the driver accept it; only the state is the guest's own.
  GuestDiagnostics d;
  d.state = PowerStateName(g.power_state);
  d.driver = "libvirt";
  d.hypervisor = "fake";
  d.memory_max_kib = 524288;
  d.memory_used_kib = 0;
  d.cpus.push_back({0, 17300000000});
  d.disks.push_back({"vda", 112, 262144, 488, 5778432, 1});
  GuestDiagnostics::Nic nic;
  nic.mac_address = "01:23:45:67:89:ab";
  nic.device = "tap0";
  nic.has_stats = true;
  nic.rx_octets = 2070139;
  nic.rx_packets = 26701;
  nic.tx_octets = 140208;
  nic.tx_packets = 662;
  d.nics.push_back(nic);
  return d;
}

Status FakeHypervisor::TriggerCrashDump(const InstanceId& id) {
  return Inspect(id).status();
}

Result<ConsoleEndpoint> FakeHypervisor::Console(const InstanceId& id,
                                                std::string_view kind) {
  CHRONOVA_RETURN_IF_ERROR(Inspect(id).status());
  return consoles_.Open(id, DomainName(id), kind);
}

Result<std::vector<GuestInfo>> FakeHypervisor::List() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<GuestInfo> out;
  for (const auto& [id, g] : guests_) out.push_back(g);
  return out;
}

void FakeHypervisor::FailNextSpawn(Status st) {
  std::lock_guard<std::mutex> l(mu_);
  fail_next_ = std::move(st);
}

Result<GuestInfo> FakeHypervisor::Resize(const GuestSpec& spec, bool keep_stopped) {
  std::lock_guard<std::mutex> l(mu_);
  if (!fail_next_action_.ok()) {
    Status st = fail_next_action_;
    fail_next_action_ = Status::Ok();
    return st;
  }
  auto it = guests_.find(spec.instance_id);
  if (it == guests_.end()) {
    return Status::NotFound("fake: no guest for " + spec.instance_id.str());
  }
  it->second.power_state = keep_stopped ? PowerState::kShutdown : PowerState::kRunning;
  Save();
  return it->second;
}

Result<GuestInfo> FakeHypervisor::RevertResize(const GuestSpec& spec, bool keep_stopped) {
  return FakeHypervisor::Resize(spec, keep_stopped);  // the same, whoever overrides it
}

}  // namespace chronova
