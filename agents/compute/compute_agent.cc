#include "agents/compute/compute_agent.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "agents/compute/subprocess.h"
#include "agents/host_query.h"
#include "agents/role_metrics.h"
#include "agents/subjects.h"
#include "core/periodic_task.h"

namespace chronova {

ComputeAgent::ComputeAgent(Hypervisor* hypervisor, Bus* bus, ComputeAgentOptions options)
    : hypervisor_(hypervisor), bus_(bus), options_(std::move(options)) {
  in_flight_gauge_ = MetricsRegistry::Default().AddGauge(
      "chronova_compute_work_in_flight",
      "Work the compute agents of this process are doing or about to do.", {},
      [this] { return static_cast<double>(in_flight_.load()); });
}

ComputeAgent::~ComputeAgent() { Stop(); }

Status ComputeAgent::Start() {
  CHRONOVA_ASSIGN_OR_RETURN(HostCapacity cap, hypervisor_->Capacity());
  // Heartbeat first, so the scheduler counts this host as up once it registers.
  CHRONOVA_RETURN_IF_ERROR(
      bus_->Publish(subjects::Heartbeat(options_.host),
                    EncodePortable(Heartbeat{options_.host, options_.env->Now()})));
  CHRONOVA_ASSIGN_OR_RETURN(
      work_,
      bus_->Subscribe(subjects::Work(options_.host),
                      [this](const std::string&, const std::string& p) { OnWork(p); }));
  CHRONOVA_ASSIGN_OR_RETURN(
      queries_,
      bus_->Subscribe(subjects::Query(options_.host),
                      [this](const std::string&, const std::string& p) { OnQuery(p); }));
  CHRONOVA_RETURN_IF_ERROR(Register(cap));
  if (options_.heartbeat_interval_us > 0) {
    // Aligned: the simulated hosts of one process heartbeat together.
    heartbeat_ = std::make_unique<PeriodicTask>(
        options_.env, options_.heartbeat_interval_us, [this] { SendHeartbeat(); },
        PeriodicTask::Phase::kAligned, options_.heartbeat_offset_us);
  }
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    sync_stop_ = false;
    sync_ = options_.env->NewTaskQueue("compute-sync");
  }
  // One of each queued at a time: a slow one is not followed by a pile of them.
  if (options_.sync_power_state_interval_us > 0) {
    sync_power_state_ = std::make_unique<PeriodicTask>(
        options_.env, options_.sync_power_state_interval_us, [this] {
          std::lock_guard<std::mutex> l(sync_mu_);
          if (!sync_ || power_sync_queued_.exchange(true)) return;
          sync_->Post([this] {
            power_sync_queued_ = false;
            SyncPowerStates();
          });
        });
  }
  if (options_.image_cache != nullptr && options_.image_cache_manager_interval_us > 0) {
    images_ = options_.env->NewTaskQueue("compute-images");
    image_cache_manager_ = std::make_unique<PeriodicTask>(
        options_.env, options_.image_cache_manager_interval_us, [this] {
          if (ageing_queued_.exchange(true)) return;
          images_->Post([this] {
            ageing_queued_ = false;
            AgeImageCache();
          });
        });
  }
  // Watch first, then list: a change after the listing is reported as an event.
  hypervisor_->SetGuestObserver(
      [this](const InstanceId& id, PowerState) { OnGuestEvent(id); });
  return SendInventory(/*restart=*/true);
}

void ComputeAgent::Stop() {
  hypervisor_->SetGuestObserver(nullptr);
  work_.reset();
  queries_.reset();
  heartbeat_.reset();
  sync_power_state_.reset();
  image_cache_manager_.reset();
  images_.reset();  // waits for an ageing in progress
  std::unique_ptr<TaskQueue> sync;
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    sync_stop_ = true;
    pending_.clear();
    queued_.clear();
    sync.swap(sync_);
  }
  sync.reset();  // waits for a running report
}

void ComputeAgent::AgeImageCache() {
  Status st = options_.image_cache->Age();
  if (!st.ok()) Warn(std::string("image cache: ") + st.ToString());
}

Status ComputeAgent::Register(const HostCapacity& cap) {
  HostRegistered reg;
  reg.host = options_.host;
  reg.vcpus = cap.vcpus;
  reg.memory_mb = cap.memory_mb;
  reg.disk_gb = cap.disk_gb;
  reg.availability_zone = options_.availability_zone;
  reg.hypervisor_type = cap.hypervisor_type;
  reg.hypervisor_hostname = options_.host.str();
  reg.cpu_allocation_ratio = options_.cpu_allocation_ratio;
  reg.ram_allocation_ratio = options_.ram_allocation_ratio;
  reg.disk_allocation_ratio = options_.disk_allocation_ratio;
  Report r = MakeReport(options_.host, InstanceId(), reg, Seq(), RequestId(), Actor{});
  return bus_->Publish(subjects::Report(options_.host), EncodePortable(r));
}

Status ComputeAgent::SendInventory(bool restart) {
  // The registration again first: the bus may have lost the one sent at start
  // (the conductor records the same capacity once, under one key).
  if (!restart) {
    CHRONOVA_ASSIGN_OR_RETURN(HostCapacity cap, hypervisor_->Capacity());
    CHRONOVA_RETURN_IF_ERROR(Register(cap));
  }
  GuestInventory inventory;
  inventory.host = options_.host;
  inventory.restart = restart;
  const std::string reason = InventoryReason(restart);
  std::lock_guard<std::mutex> w(work_mu_);
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<GuestInfo> guests, hypervisor_->List());
  for (const GuestInfo& g : guests) {
    const auto state = static_cast<int32_t>(g.power_state);
    inventory.guests.push_back({g.instance_id, state});
    // Each guest's state travels as a report, in order with the work reports
    // (the inventory itself takes another subject).
    Send(WorkOrigin{g.instance_id, Seq(), RequestId(), Actor{}},
         InstancePowerStateChanged{options_.host, state, reason});
  }
  return bus_->Publish(subjects::Inventory(options_.host), EncodePortable(inventory));
}

void ComputeAgent::OnGuestEvent(const InstanceId& id) {
  std::lock_guard<std::mutex> l(sync_mu_);
  if (sync_stop_ || !sync_ || !queued_.insert(id).second) return;
  pending_.push_back(id);
  sync_->Post([this] { ReportNextGuestEvent(); });
}

void ComputeAgent::ReportNextGuestEvent() {
  InstanceId id;
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    if (sync_stop_ || pending_.empty()) return;
    id = std::move(pending_.front());
    pending_.pop_front();
    queued_.erase(id);
  }
  ReportPowerState(id, "lifecycle event");
}

void ComputeAgent::SyncPowerStates() {
  Status st = SendInventory(/*restart=*/false);
  if (!st.ok()) Warn(std::string("power-state sync: ") + st.ToString());
}

void ComputeAgent::ReportPowerState(const InstanceId& id, const std::string& reason) {
  std::lock_guard<std::mutex> w(work_mu_);
  ReportPowerStateLocked(id, reason);
}

void ComputeAgent::ReportPowerStateLocked(const InstanceId& id,
                                          const std::string& reason) {
  Result<GuestInfo> guest = hypervisor_->Inspect(id);
  PowerState state = PowerState::kNoState;
  if (guest.ok()) {
    state = guest->power_state;
  } else if (!guest.status().IsNotFound()) {
    Warn(std::string("inspect ") + id.str() + ": " + guest.status().ToString(), id);
    return;
  }
  Send(WorkOrigin{id, Seq(), RequestId(), Actor{}},
       InstancePowerStateChanged{options_.host, static_cast<int32_t>(state), reason});
}

void ComputeAgent::SendHeartbeat() {
  Status st =
      bus_->Publish(subjects::Heartbeat(options_.host),
                    EncodePortable(Heartbeat{options_.host, options_.env->Now()}));
  if (!st.ok()) Warn(std::string("heartbeat: ") + st.ToString());
}

void ComputeAgent::OnWork(const std::string& payload) {
  Work w;
  if (Status st = DecodePortable(payload, &w); !st.ok()) {
    Warn(std::string("undecodable work: ") + st.ToString());
    return;
  }
  in_flight_.fetch_add(1);
  struct Done {
    std::atomic<int>* n;
    ~Done() { n->fetch_sub(1); }
  } done{&in_flight_};
  std::lock_guard<std::mutex> l(work_mu_);
  // Work done already (sent again because it took longer than the conductor
  // waits, or because its reports were lost): the same reports again, not the
  // work twice. A re-sent resize would otherwise stop the guest it just
  // started, and the work queued behind it would wait.
  const std::string key = RememberedWork(w);
  if (!key.empty()) {
    if (auto done = done_.find(key); done != done_.end()) {
      for (const std::string& report : done->second) Publish(report);
      // Their power state is as of then: the guest's as it is now follows.
      ReportPowerStateLocked(OriginOf(w).instance_id, "work sent again");
      return;
    }
  }
  std::vector<std::string> reports;
  reporting_ = key.empty() ? nullptr : &reports;
  {
    ScopedTimer timer(&MetricsRegistry::Default().HistogramFor(
        "chronova_compute_work_duration_seconds",
        "Time a compute agent spent on one piece of work, by kind.",
        {{"kind", WorkKindName(w)}}));
    Dispatch(w);
  }
  reporting_ = nullptr;
  // Work that reported nothing (a revert or a delete that failed) is done again.
  if (key.empty() || reports.empty()) return;
  done_.emplace(key, std::move(reports));
  done_order_.push_back(key);
  if (done_order_.size() > kRememberedWork) {
    done_.erase(done_order_.front());
    done_order_.pop_front();
  }
}

std::string ComputeAgent::RememberedWork(const Work& w) {
  // Reap, power-state sync and a confirmed resize's cleanup report nothing
  // final (or the current state): done again.
  if (std::holds_alternative<ReapWork>(w) ||
      std::holds_alternative<SyncPowerStateWork>(w) ||
      std::holds_alternative<ResizeConfirmWork>(w)) {
    return "";
  }
  const WorkOrigin& o = OriginOf(w);
  const ActionWork* action = std::get_if<ActionWork>(&w);
  return std::to_string(w.index()) + "/" + o.instance_id.str() + "/" +
         std::to_string(o.causation.value()) + "/" + (action ? action->action : "");
}

void ComputeAgent::Dispatch(const Work& w) {
  struct Visitor {
    ComputeAgent* agent;
    void operator()(const BuildWork& k) { agent->Build(k); }
    void operator()(const DeleteWork& k) { agent->Delete(k); }
    void operator()(const ActionWork& k) { agent->Act(k); }
    void operator()(const RebuildWork& k) { agent->Rebuild(k); }
    void operator()(const SnapshotWork& k) { agent->Snapshot(k); }
    void operator()(const ReapWork& k) { agent->Reap(k); }
    void operator()(const SyncPowerStateWork& k) {
      agent->ReportPowerStateLocked(k.origin.instance_id, k.reason);
    }
    void operator()(const ResizeWork& k) { agent->Resize(k); }
    void operator()(const ResizeConfirmWork& k) { agent->ConfirmResize(k); }
    void operator()(const ResizeRevertWork& k) { agent->RevertResize(k); }
    void operator()(const CrashDumpWork& k) { agent->CrashDump(k); }
    void operator()(const ShelveWork& k) { agent->Shelve(k); }
    void operator()(const UnshelveWork& k) { agent->Unshelve(k); }
    void operator()(const SoftDeleteWork& k) { agent->SoftDelete(k); }
  };
  std::visit(Visitor{this}, w);
}

void ComputeAgent::OnQuery(const std::string& payload) {
  HostQuery q;
  if (Status st = DecodePortable(payload, &q); !st.ok()) {
    Warn(std::string("undecodable query: ") + st.ToString());
    return;
  }
  HostQueryReply reply;
  switch (q.kind) {
    case HostQuery::Kind::kConsoleOutput: {
      Result<std::string> log = hypervisor_->ConsoleOutput(q.instance_id);
      reply = log.ok() ? MakeHostQueryReply(Status::Ok(), TailLines(*log, q.length))
                       : MakeHostQueryReply(log.status());
      break;
    }
    case HostQuery::Kind::kConsole: {
      Result<ConsoleEndpoint> console =
          hypervisor_->Console(q.instance_id, q.console_kind);
      reply = console.ok() ? MakeHostQueryReply(Status::Ok(), EncodePortable(*console))
                           : MakeHostQueryReply(console.status());
      break;
    }
    case HostQuery::Kind::kDiagnostics: {
      Result<GuestDiagnostics> d = hypervisor_->Diagnostics(q.instance_id);
      reply = d.ok() ? MakeHostQueryReply(Status::Ok(), EncodePortable(*d))
                     : MakeHostQueryReply(d.status());
      break;
    }
    case HostQuery::Kind::kUptime: {
      // What Nova's libvirt driver answers: `env LANG=C uptime` on the host.
      Result<std::string> out = RunProgram({"env", "LANG=C", "uptime"});
      reply = out.ok() ? MakeHostQueryReply(Status::Ok(), *out)
                       : MakeHostQueryReply(out.status());
      break;
    }
    default:
      reply = MakeHostQueryReply(Status::InvalidArgument("unknown query"));
  }
  if (Status st = bus_->Publish(q.reply_to, EncodePortable(reply)); !st.ok()) {
    Warn(std::string("reply: ") + st.ToString());
  }
}

void ComputeAgent::Send(const WorkOrigin& origin, const Event& event) {
  Report r = MakeReport(options_.host, origin.instance_id, event, origin.causation,
                        origin.request_id, origin.actor);
  std::string report = EncodePortable(r);
  Publish(report);
  if (reporting_ != nullptr) reporting_->push_back(std::move(report));
}

void ComputeAgent::Publish(const std::string& report) {
  Status st = bus_->Publish(subjects::Report(options_.host), report);
  if (!st.ok()) {
    // The conductor's sweep re-sends the work; the report is sent again then.
    Warn(std::string("report: ") + st.ToString());
  }
}

Result<GuestSpec> ComputeAgent::PrepareGuest(const WorkOrigin& origin,
                                             const WorkGuest& guest, DiskMode mode,
                                             bool resize) {
  GuestSpec spec;
  spec.instance_id = origin.instance_id;
  spec.name = guest.name;
  spec.flavor = guest.flavor;
  spec.image_id = guest.image_id;
  if (resize) spec.resize_request = origin.causation;
  ImageCache* cache = options_.image_cache;
  if (cache == nullptr) return spec;
  // Fetch first: a build that cannot get its image leaves no directory.
  CHRONOVA_RETURN_IF_ERROR(cache->Fetch(guest.image_id).status());
  spec.instance_dir = cache->InstanceDir(origin.instance_id);
  spec.disk_path = spec.instance_dir + "/disk";
  spec.disk_bus = cache->DiskBus(guest.image_id);
  std::error_code ec;
  std::filesystem::create_directories(spec.instance_dir, ec);
  if (ec) {
    return Status::Internal("create " + spec.instance_dir + ": " + ec.message());
  }
  if (mode == DiskMode::kReplace) std::filesystem::remove(spec.disk_path, ec);
  if (!std::filesystem::exists(spec.disk_path, ec)) {
    // Pins the base until the overlay exists, so aging cannot slip in between.
    CHRONOVA_RETURN_IF_ERROR(
        cache->CreateDisk(guest.image_id, spec.disk_path, guest.flavor.root_gb).status());
  }
  return spec;
}

void ComputeAgent::Build(const BuildWork& w) {
  Send(w.origin, BuildStarted{options_.host});
  Result<GuestSpec> spec = PrepareGuest(w.origin, w.guest, DiskMode::kKeep);
  Result<GuestInfo> guest = spec.ok() ? hypervisor_->Spawn(*spec) : spec.status();
  if (!guest.ok()) {
    Send(w.origin, InstanceBuildFailed{options_.host,
                                       "Build of instance " + w.origin.instance_id.str() +
                                           " aborted: " + guest.status().message()});
    return;
  }
  Send(w.origin, InstanceSpawned{options_.host, guest->domain_name, guest->consoles});
}

void ComputeAgent::Act(const ActionWork& w) {
  Result<LifecycleAction> action = ParseLifecycleAction(w.action);
  if (!action.ok()) {
    Warn(action.status().ToString());
    return;
  }
  if (*action == LifecycleAction::kRescue) return Rescue(w);
  if (*action == LifecycleAction::kUnrescue) return Unrescue(w);
  SendOutcome(w, hypervisor_->Perform(w.origin.instance_id, *action, w.hard));
}

void ComputeAgent::SendOutcome(const ActionWork& w, const Result<GuestInfo>& guest) {
  if (!guest.ok()) {
    Send(w.origin,
         InstanceActionFailed{options_.host, w.action, guest.status().message()});
    return;
  }
  Send(w.origin, InstanceActionCompleted{options_.host, w.action,
                                         static_cast<int32_t>(guest->power_state)});
}

GuestSpec ComputeAgent::GuestSpecOf(const WorkOrigin& origin,
                                    const WorkGuest& guest) const {
  GuestSpec spec;
  spec.instance_id = origin.instance_id;
  spec.name = guest.name;
  spec.flavor = guest.flavor;
  spec.image_id = guest.image_id;
  if (ImageCache* cache = options_.image_cache) {
    spec.instance_dir = cache->InstanceDir(origin.instance_id);
    spec.disk_path = spec.instance_dir + "/disk";
    spec.rescue_disk_path = spec.instance_dir + "/disk.rescue";
    spec.disk_bus = cache->DiskBus(guest.image_id);
  }
  return spec;
}

void ComputeAgent::Rescue(const ActionWork& w) {
  // Nova's libvirt rescue: disk.rescue is a fresh overlay of the rescue image's
  // base (the instance's own image by default); the guest's disk stays as it is.
  GuestSpec spec = GuestSpecOf(w.origin, w.guest);
  if (ImageCache* cache = options_.image_cache) {
    const ImageId image =
        w.rescue_image_id.empty() ? w.guest.image_id : w.rescue_image_id;
    std::error_code ec;
    // A re-sent rescue finds its disk (and maybe a guest already using it).
    if (!std::filesystem::exists(spec.rescue_disk_path, ec)) {
      // Pins the base until the overlay exists, as a build's disk.
      Result<std::string> base =
          cache->CreateDisk(image, spec.rescue_disk_path, w.guest.flavor.root_gb);
      if (!base.ok()) return SendOutcome(w, base.status());
    }
  }
  SendOutcome(w, hypervisor_->Rescue(spec));
}

void ComputeAgent::Unrescue(const ActionWork& w) {
  SendOutcome(w, hypervisor_->Unrescue(GuestSpecOf(w.origin, w.guest)));
}

void ComputeAgent::Rebuild(const RebuildWork& w) {
  // Nova's rebuild on the same host: the old guest goes, a new one is spawned
  // from the new image (a new overlay on its base), and a stopped instance is
  // left stopped.
  Status st = hypervisor_->Destroy(w.origin.instance_id);
  Result<GuestSpec> spec = st.ok() ? PrepareGuest(w.origin, w.guest, DiskMode::kReplace)
                                   : Result<GuestSpec>(st);
  Result<GuestInfo> guest = spec.ok() ? hypervisor_->Spawn(*spec) : spec.status();
  if (guest.ok() && w.keep_stopped) {
    guest = hypervisor_->Perform(w.origin.instance_id, LifecycleAction::kStop, false);
  }
  if (!guest.ok()) {
    Send(w.origin,
         InstanceRebuildFailed{options_.host,
                               "Rebuild of instance " + w.origin.instance_id.str() +
                                   " failed: " + guest.status().message()});
    return;
  }
  Send(w.origin,
       InstanceRebuilt{options_.host, static_cast<int32_t>(guest->power_state)});
}

Status ComputeAgent::UploadDisk(const WorkOrigin& origin, const WorkGuest& guest,
                                const ImageId& image_id) {
  // OnWork holds work_mu_: a re-sent item for this image runs after this one
  // (and is answered with this one's reports, unless the agent restarted since).
  if (options_.image_sink == nullptr) {
    return Status::Unavailable("no image service to upload snapshots to");
  }
  const ImageSinkContext ctx{origin.request_id, origin.actor};
  std::error_code ec;
  std::string dir = options_.scratch_dir.empty()
                        ? std::filesystem::temp_directory_path(ec).string()
                        : options_.scratch_dir;
  std::filesystem::create_directories(dir, ec);
  const std::string file = dir + "/snapshot-" + image_id.str() + ".qcow2";
  std::filesystem::remove(file, ec);  // a leftover of an interrupted attempt
  GuestSpec spec;
  spec.instance_id = origin.instance_id;
  spec.name = guest.name;
  spec.flavor = guest.flavor;
  spec.image_id = guest.image_id;
  Status st = hypervisor_->Snapshot(spec, file);
  if (st.ok()) st = options_.image_sink->Store(image_id, file, ctx);
  std::filesystem::remove(file, ec);
  if (!st.IsConflict()) return st;
  // The image is not queued: an earlier attempt uploaded it, or began to and
  // was cut off by a crash (this agent runs one attempt per image at a time,
  // so none is running now). Finished: done; cut off: it never will be, so
  // the snapshot fails and the image goes, rather than leave the server in
  // its task for ever.
  Result<bool> uploaded = options_.image_sink->Uploaded(image_id);
  if (uploaded.ok() && *uploaded) return Status::Ok();
  return uploaded.ok() ? Status::Unavailable("its upload was interrupted")
                       : uploaded.status();
}

void ComputeAgent::DiscardImage(const WorkOrigin& origin, const ImageId& image_id) {
  if (options_.image_sink == nullptr || image_id.empty()) return;
  Status st = options_.image_sink->Discard(
      image_id, ImageSinkContext{origin.request_id, origin.actor});
  if (!st.ok()) Warn("discard image " + image_id.str() + ": " + st.ToString());
}

void ComputeAgent::Snapshot(const SnapshotWork& w) {
  Status st = UploadDisk(w.origin, w.guest, w.snapshot_image_id);
  if (st.ok() && w.backup) {
    // After the upload, as Nova: a failed rotation leaves one backup too many,
    // never one too few.
    Status rotated = options_.image_sink->RotateBackups(
        w.origin.instance_id, w.backup_type, w.rotation,
        ImageSinkContext{w.origin.request_id, w.origin.actor});
    if (!rotated.ok()) {
      Warn("rotate backups of " + w.origin.instance_id.str() + ": " + rotated.ToString());
    }
  }
  if (st.ok()) {
    Send(w.origin, InstanceSnapshotCompleted{options_.host, w.snapshot_image_id});
    return;
  }
  DiscardImage(w.origin, w.snapshot_image_id);  // Nova deletes a failed snapshot's image
  Send(w.origin,
       InstanceSnapshotFailed{options_.host, w.snapshot_image_id,
                              "Snapshot of instance " + w.origin.instance_id.str() +
                                  " failed: " + st.message()});
}

void ComputeAgent::Shelve(const ShelveWork& w) {
  // Nova's shelve_instance: power off (cleanly), snapshot, then (offload) the
  // guest and its files go. A re-sent shelve after a restart finds the guest
  // off (stop is idempotent), the image uploaded, or the guest gone already.
  Result<GuestInfo> guest =
      hypervisor_->Perform(w.origin.instance_id, LifecycleAction::kStop, false);
  Status st = guest.status();
  if (st.IsNotFound() && w.offload) {
    // Offloaded before the report was lost: nothing left to stop or upload
    // from, so the image must be complete already.
    Result<bool> uploaded = !w.snapshot || options_.image_sink == nullptr
                                ? Result<bool>(!w.snapshot)
                                : options_.image_sink->Uploaded(w.shelved_image_id);
    st = uploaded.ok() && *uploaded ? Status::Ok() : st;
    guest = GuestInfo{w.origin.instance_id, "", PowerState::kNoState, {}};
  }
  const bool gone = st.ok() && guest->power_state == PowerState::kNoState;
  if (st.ok() && w.snapshot && !gone) {
    st = UploadDisk(w.origin, w.guest, w.shelved_image_id);
  }
  if (st.ok() && w.offload && !gone) {
    st = hypervisor_->Destroy(w.origin.instance_id);
    if (st.ok()) RemoveInstanceDir(w.origin.instance_id);
  }
  if (!st.ok()) {
    if (w.snapshot) DiscardImage(w.origin, w.shelved_image_id);
    Result<GuestInfo> now = hypervisor_->Inspect(w.origin.instance_id);
    Send(w.origin,
         InstanceShelveFailed{
             options_.host,
             static_cast<int32_t>(now.ok() ? now->power_state : PowerState::kNoState),
             "Shelve of instance " + w.origin.instance_id.str() +
                 " failed: " + st.message()});
    return;
  }
  const PowerState power = w.offload ? PowerState::kNoState : guest->power_state;
  Send(w.origin, InstanceShelved{options_.host, w.offload, static_cast<int32_t>(power)});
}

void ComputeAgent::Unshelve(const UnshelveWork& w) {
  Result<GuestInfo> guest = Status::Internal("no unshelve");
  if (w.spawn) {
    // Nova's _unshelve_instance: a guest from the shelved image.
    Result<GuestSpec> spec = PrepareGuest(w.origin, w.guest, DiskMode::kKeep);
    guest = spec.ok() ? hypervisor_->Spawn(*spec) : spec.status();
    if (!guest.ok() && hypervisor_->Destroy(w.origin.instance_id).ok()) {
      RemoveInstanceDir(w.origin.instance_id);
    }
  } else {
    guest = hypervisor_->Perform(w.origin.instance_id, LifecycleAction::kStart, false);
  }
  if (!guest.ok()) {
    Send(w.origin,
         InstanceUnshelveFailed{options_.host,
                                "Unshelve of instance " + w.origin.instance_id.str() +
                                    " failed: " + guest.status().message()});
    return;
  }
  Send(w.origin,
       InstanceUnshelved{options_.host, static_cast<int32_t>(guest->power_state),
                         w.spawn ? guest->domain_name : "", guest->consoles});
  // After the report, as Nova deletes it after the spawn: a crash in between
  // leaves the image behind, never a re-sent unshelve without its image.
  DiscardImage(w.origin, w.guest.image_id);
}

void ComputeAgent::SoftDelete(const SoftDeleteWork& w) {
  const LifecycleAction action =
      w.restore ? LifecycleAction::kStart : LifecycleAction::kStop;
  Result<GuestInfo> guest = hypervisor_->Perform(w.origin.instance_id, action, false);
  if (!guest.ok()) {
    // Stay in the task; the conductor re-sends the work.
    Warn(std::string(w.restore ? "restore " : "soft delete ") +
             w.origin.instance_id.str() + ": " + guest.status().ToString(),
         w.origin.instance_id);
    return;
  }
  const int32_t power = static_cast<int32_t>(guest->power_state);
  if (w.restore) {
    Send(w.origin, InstanceRestored{options_.host, power});
  } else {
    Send(w.origin, InstanceSoftDeleted{options_.host, power});
  }
}

void ComputeAgent::Resize(const ResizeWork& w) {
  Result<GuestSpec> spec =
      PrepareGuest(w.origin, w.guest, DiskMode::kKeep, /*resize=*/true);
  Result<GuestInfo> guest = Status::Internal("no resize");
  if (!spec.ok()) {
    guest = spec.status();
  } else if (w.source_host == options_.host) {
    guest = hypervisor_->Resize(*spec, w.keep_stopped);
  } else {
    // From another host: the guest is defined here with the new flavor; the
    // source keeps its guest until the resize is confirmed.
    guest = hypervisor_->Spawn(*spec);
    if (guest.ok() && w.keep_stopped) {
      guest = hypervisor_->Perform(w.origin.instance_id, LifecycleAction::kStop, false);
    }
  }
  if (!guest.ok()) {
    Send(w.origin, InstanceResizeFailed{
                       options_.host, "Resize of instance " + w.origin.instance_id.str() +
                                          " failed: " + guest.status().message()});
    return;
  }
  Send(w.origin,
       InstanceResizeFinished{options_.host, static_cast<int32_t>(guest->power_state)});
}

void ComputeAgent::RevertResize(const ResizeRevertWork& w) {
  PowerState power = w.keep_stopped ? PowerState::kShutdown : PowerState::kRunning;
  if (w.source_host == options_.host) {
    Result<GuestSpec> spec = PrepareGuest(w.origin, w.guest, DiskMode::kKeep);
    Result<GuestInfo> guest =
        spec.ok() ? hypervisor_->RevertResize(*spec, w.keep_stopped) : spec.status();
    if (!guest.ok()) {
      // Stay in resize_reverting; the conductor re-sends the work.
      Warn(std::string("revert resize ") + w.origin.instance_id.str() + ": " +
               guest.status().ToString(),
           w.origin.instance_id);
      return;
    }
    power = guest->power_state;
  } else if (Status st = hypervisor_->Destroy(w.origin.instance_id); !st.ok()) {
    Warn(
        std::string("revert resize ") + w.origin.instance_id.str() + ": " + st.ToString(),
        w.origin.instance_id);
    return;
  }
  Send(w.origin, InstanceResizeReverted{options_.host, static_cast<int32_t>(power)});
}

void ComputeAgent::ConfirmResize(const ResizeConfirmWork& w) {
  Status st = hypervisor_->Destroy(w.origin.instance_id);
  if (!st.ok()) {
    Warn(std::string("drop resized guest ") + w.origin.instance_id.str() + ": " +
             st.ToString(),
         w.origin.instance_id);
  }
}

void ComputeAgent::Delete(const DeleteWork& w) {
  Status st = hypervisor_->Destroy(w.origin.instance_id);
  if (!st.ok()) {
    // Stay in deleting; the conductor re-sends the delete.
    CountDelete("destroy_failed");
    Warn(std::string("destroy ") + w.origin.instance_id.str() + ": " + st.ToString(),
         w.origin.instance_id);
    return;
  }
  RemoveInstanceDir(w.origin.instance_id);
  Send(w.origin, InstanceDeleted{options_.host});
}

void ComputeAgent::RemoveInstanceDir(const InstanceId& id) {
  if (options_.image_cache == nullptr) return;
  // The guest is gone: its disk, console log and domain XML go too (which
  // lets the image cache manager age the base once nothing else uses it).
  const std::string dir = options_.image_cache->InstanceDir(id);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) {
    Warn(std::string("remove ") + dir + ": " + ec.message());
  }
}

void ComputeAgent::CrashDump(const CrashDumpWork& w) {
  Status st = hypervisor_->TriggerCrashDump(w.origin.instance_id);
  Send(w.origin, InstanceCrashDumpFinished{options_.host, st.ok() ? "" : st.message()});
}

void ComputeAgent::Reap(const ReapWork& w) {
  // Nova's running_deleted_instance_action=reap.
  Status st = hypervisor_->Destroy(w.origin.instance_id);
  if (st.ok()) RemoveInstanceDir(w.origin.instance_id);
  Warn(std::string("reaped guest ") + DomainName(w.origin.instance_id) +
           " of an instance not on this host: " + st.ToString(),
       w.origin.instance_id);
}

void ComputeAgent::Warn(const std::string& message, const InstanceId& about) const {
  options_.env->Warn(
      {.role = "compute", .host = options_.host.str(), .instance_id = about.str()},
      message);
}
}  // namespace chronova
