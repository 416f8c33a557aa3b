// The compute agent (nova-compute, event-sourced): one per hypervisor host. It
// announces its host (host.registered, via the conductor), sends heartbeats,
// takes work for its host from the bus, drives the Hypervisor and reports each
// step. It never writes the log: the conductor checks and records its reports.
// At start it reports every guest it has (GuestInventory) so the conductor can
// reconcile them with the log; afterwards every lifecycle event of a guest
// becomes a report of the guest's power state (instance.power_state_changed),
// which the conductor records only when it is news (Nova's
// _sync_instance_power_state).
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "agents/bus.h"
#include "agents/compute/hypervisor.h"
#include "agents/compute/image_cache.h"
#include "agents/compute/image_sink.h"
#include "agents/messages.h"
#include "core/env.h"
#include "core/metrics.h"
#include "core/periodic_task.h"

namespace chronova {

struct ComputeAgentOptions {
  HostName host;
  std::string availability_zone = "nova";
  double cpu_allocation_ratio = 16.0;
  double ram_allocation_ratio = 1.5;
  double disk_allocation_ratio = 1.0;
  int64_t heartbeat_interval_us = 10000000;  // nova.conf report_interval (10 s)
  // Where in the interval heartbeats fall (PeriodicTask::Phase::kAligned): the
  // hosts of one process share it and heartbeat together; each machine's
  // differs, so a cloud's hosts do not all heartbeat in the same instant.
  int64_t heartbeat_offset_us = 0;
  // nova.conf sync_power_state_interval (600 s): every guest's power state is
  // reported this often, for drivers without events or events that were lost;
  // <= 0: only when the agent starts.
  int64_t sync_power_state_interval_us = 600000000;
  Env* env = Env::Default();
  // The host's image cache (borrowed), on hosts whose guests have real disks
  // (libvirt with QEMU/KVM). nullptr (fake and test:/// hosts): guests get no
  // disk, and builds touch no files.
  ImageCache* image_cache = nullptr;
  // nova.conf image_cache_manager_interval: how often unused bases are aged
  // (ImageCache::Age); 0 or less: never.
  int64_t image_cache_manager_interval_us = int64_t{2400} * 1000000;
  // Where snapshots (createImage) are uploaded; borrowed. Null: every snapshot
  // fails ("no image service").
  ImageSink* image_sink = nullptr;
  // Scratch space for a snapshot's file until it is uploaded (created if
  // missing). Empty: the system's temp directory.
  std::string scratch_dir;
};

class ComputeAgent {
 public:
  // Borrows `hypervisor` and `bus`.
  ComputeAgent(Hypervisor* hypervisor, Bus* bus, ComputeAgentOptions options);
  ~ComputeAgent();

  // Registers the host, starts heartbeats, takes work, watches the guests and
  // reports them all (for reconciliation). May be called again after Stop (an
  // agent that comes back).
  Status Start();
  void Stop();

 private:
  void OnWork(const std::string& payload);
  // Carries out one work item. REQUIRES: work_mu_ held.
  void Dispatch(const Work& w);
  // The key under which work of w's kind is remembered once done (its kind,
  // instance, causing event and action); "" for work that is always done again.
  static std::string RememberedWork(const Work& w);
  // Answers a HostQuery (a guest's console log) on its reply subject.
  void OnQuery(const std::string& payload);
  void Build(const BuildWork& w);
  void Delete(const DeleteWork& w);
  // Carries out a lifecycle action and reports its outcome.
  void Act(const ActionWork& w);
  // Boots the guest from a rescue disk (its own disk second), or back from its
  // own disk, and reports the outcome as Act does.
  void Rescue(const ActionWork& w);
  void Unrescue(const ActionWork& w);
  // Recreates the guest from the work's image and reports the outcome.
  void Rebuild(const RebuildWork& w);
  // Destroys a guest the log does not place here.
  void Reap(const ReapWork& w);
  void CrashDump(const CrashDumpWork& w);
  // Removes the instance's directory (disk, console log, XML), if it has one.
  void RemoveInstanceDir(const InstanceId& id);
  // Snapshots the guest into a file, uploads it into the work's image and
  // reports the outcome; a failed snapshot discards the image.
  void Snapshot(const SnapshotWork& w);
  // Powers the guest off, uploads its disk into the shelved image and (with
  // offload) removes the guest; reports shelved or shelve_failed.
  void Shelve(const ShelveWork& w);
  // Spawns the guest from its shelved image (or starts the shelved one),
  // reports unshelved or unshelve_failed, and deletes the shelved image.
  void Unshelve(const UnshelveWork& w);
  // Powers the guest off (soft delete) or on (restore) and reports it.
  void SoftDelete(const SoftDeleteWork& w);
  // Writes the guest's disk into the queued image `image_id` (a snapshot or
  // a shelve's); OK if an earlier attempt finished it.
  Status UploadDisk(const WorkOrigin& origin, const WorkGuest& guest,
                    const ImageId& image_id);
  // Deletes the image (a failed snapshot's, an unshelved server's); warns on
  // failure.
  void DiscardImage(const WorkOrigin& origin, const ImageId& image_id);
  // A resize's destination: the guest with the new flavor (resized in place
  // on the same host, spawned here from another); reports finished or failed.
  void Resize(const ResizeWork& w);
  // A resize's destination: back to the old flavor (same host) or the guest
  // here dropped (the source's guest is kept); reports reverted.
  void RevertResize(const ResizeRevertWork& w);
  // A confirmed resize's source (another host): the old guest goes.
  void ConfirmResize(const ResizeConfirmWork& w);
  // Reports `event` as the outcome (or a step) of the work from `origin`.
  void Send(const WorkOrigin& origin, const Event& event);
  // A warning line in the log (role compute, this host, the instance it is about).
  void Warn(const std::string& message, const InstanceId& about = InstanceId()) const;
  // Publishes an encoded Report to the conductor.
  void Publish(const std::string& report);
  // One heartbeat (every heartbeat_interval_us, on the Env's timers).
  void SendHeartbeat();
  // Announces the host and its capacity (host.registered, as a report).
  Status Register(const HostCapacity& cap);
  // Reports every guest's power state, then publishes the list of them as a
  // GuestInventory; a periodic one announces the host again first.
  Status SendInventory(bool restart);
  // A lifecycle event of `id`: queued for the sync queue (never blocks).
  void OnGuestEvent(const InstanceId& id);
  // Reports the power state of the oldest guest with a lifecycle event (a
  // task on the sync queue).
  void ReportNextGuestEvent();
  // Every guest's power state (every sync_power_state_interval_us).
  void SyncPowerStates();
  // Reports the guest's current power state (NOSTATE if it is gone). Reads it
  // afresh rather than trusting the event: events may arrive late.
  void ReportPowerState(const InstanceId& id, const std::string& reason);
  // REQUIRES: work_mu_ held.
  void ReportPowerStateLocked(const InstanceId& id, const std::string& reason);
  // Ages unused bases (every image_cache_manager_interval_us).
  void AgeImageCache();
  enum class DiskMode {
    kKeep,     // a build: create the disk only if missing (a re-sent build keeps it)
    kReplace,  // a rebuild: a new disk from the work's image
  };
  // The GuestSpec of the work's instance. With an image cache it also fetches
  // the image into _base/ and creates <instance dir>/disk on it.
  // `resize`: the spec of a resize (it names the resize's request).
  Result<GuestSpec> PrepareGuest(const WorkOrigin& origin, const WorkGuest& guest,
                                 DiskMode mode, bool resize = false);
  // The GuestSpec of the work's instance as it is, touching no files.
  GuestSpec GuestSpecOf(const WorkOrigin& origin, const WorkGuest& guest) const;
  // Sends the outcome of a lifecycle action.
  void SendOutcome(const ActionWork& w, const Result<GuestInfo>& guest);

  Hypervisor* const hypervisor_;
  Bus* const bus_;
  const ComputeAgentOptions options_;

  std::unique_ptr<BusSubscription> work_;
  std::unique_ptr<BusSubscription> queries_;
  std::unique_ptr<PeriodicTask> heartbeat_;

  // Held while work is carried out and reported, and while a power state is
  // read and reported: a power report is never older than the outcome of the
  // work before it, so the conductor never takes a stale one for drift (work
  // sent again is answered with its old reports, then the power state now).
  std::mutex work_mu_;
  // The reports of the last kRememberedWork work items done here, by
  // RememberedWork key, oldest first in done_order_; while work is carried out,
  // reporting_ collects its reports. Protected by work_mu_.
  static constexpr size_t kRememberedWork = 4096;
  std::map<std::string, std::vector<std::string>> done_;
  std::deque<std::string> done_order_;
  std::vector<std::string>* reporting_ = nullptr;

  // The sync queue reports lifecycle events and every guest periodically.
  std::mutex sync_mu_;              // protects pending_, queued_, sync_stop_, sync_
  std::deque<InstanceId> pending_;  // guests with an unreported lifecycle event
  std::set<InstanceId> queued_;     // the ids in pending_ (one report each)
  bool sync_stop_ = false;
  std::unique_ptr<TaskQueue> sync_;
  std::unique_ptr<PeriodicTask> sync_power_state_;
  std::atomic<bool> power_sync_queued_{false};
  // The image cache manager ages unused bases on a queue of its own (only with
  // an image cache): slow disk work never delays a power-state report.
  std::unique_ptr<TaskQueue> images_;
  std::unique_ptr<PeriodicTask> image_cache_manager_;
  std::atomic<bool> ageing_queued_{false};

  // Work being done or waiting for work_mu_ (chronova_compute_work_in_flight).
  std::atomic<int> in_flight_{0};
  GaugeRegistration in_flight_gauge_;
};

}  // namespace chronova
