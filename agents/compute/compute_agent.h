// The compute agent (nova-compute, event-sourced): one per hypervisor host. It
// announces its host (host.registered, via the conductor), sends heartbeats,
// takes work for its host from the bus, drives the Hypervisor and reports each
// step. It never writes the log: the conductor checks and records its reports.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agents/bus.h"
#include "agents/compute/hypervisor.h"
#include "agents/compute/image_cache.h"
#include "agents/messages.h"
#include "core/env.h"

namespace chronova {

struct ComputeAgentOptions {
  HostName host;
  std::string availability_zone = "nova";
  double cpu_allocation_ratio = 16.0;
  double ram_allocation_ratio = 1.5;
  double disk_allocation_ratio = 1.0;
  int64_t heartbeat_interval_us = 10000000;  // nova.conf report_interval (10 s)
  Env* env = Env::Default();
  // The host's image cache (borrowed), on hosts whose guests have real disks
  // (libvirt with QEMU/KVM). nullptr (fake and test:/// hosts): guests get no
  // disk, and builds touch no files.
  ImageCache* image_cache = nullptr;
  // nova.conf image_cache_manager_interval: how often unused bases are aged
  // (ImageCache::Age); 0 or less: never.
  int64_t image_cache_manager_interval_us = int64_t{2400} * 1000000;
};

class ComputeAgent {
 public:
  // Borrows `hypervisor` and `bus`.
  ComputeAgent(Hypervisor* hypervisor, Bus* bus, ComputeAgentOptions options);
  ~ComputeAgent();

  // Registers the host, starts heartbeats and takes work.
  Status Start();
  void Stop();

 private:
  void OnWork(const std::string& payload);
  void Build(const WorkItem& w);
  void Delete(const WorkItem& w);
  // Carries out a lifecycle action and reports its outcome.
  void Act(const WorkItem& w);
  // Boots the guest from a rescue disk (its own disk second), or back from its
  // own disk, and reports the outcome as Act does.
  void Rescue(const WorkItem& w);
  void Unrescue(const WorkItem& w);
  // Recreates the guest from the work's image and reports the outcome.
  void Rebuild(const WorkItem& w);
  void Send(const WorkItem& w, const Event& event);
  void HeartbeatLoop();
  void ImageCacheLoop();
  enum class DiskMode {
    kKeep,     // a build: create the disk only if missing (a re-sent build keeps it)
    kReplace,  // a rebuild: a new disk from the work's image
  };
  // The GuestSpec of the work's instance. With an image cache it also fetches
  // the image into _base/ and creates <instance dir>/disk on it.
  Result<GuestSpec> PrepareGuest(const WorkItem& w, DiskMode mode);
  // The GuestSpec of the work's instance as it is, touching no files.
  GuestSpec GuestSpecOf(const WorkItem& w) const;
  // Sends the outcome of a lifecycle action.
  void SendOutcome(const WorkItem& w, const Result<GuestInfo>& guest);

  Hypervisor* const hypervisor_;
  Bus* const bus_;
  const ComputeAgentOptions options_;

  std::unique_ptr<BusSubscription> work_;
  std::mutex mu_;  // protects stop_
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread heartbeat_;
  std::thread image_cache_manager_;  // runs only with an image cache
};

}  // namespace chronova
