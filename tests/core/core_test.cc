// core/: the state machine, deciders, event codec and small utilities.
#include <catch2/catch.hpp>
#include <cereal/archives/portable_binary.hpp>
#include <limits>
#include <sstream>

#include "core/codec.h"
#include "core/env.h"
#include "core/event_codec.h"
#include "core/event_json.h"
#include "core/host_state.h"
#include "core/ini_file.h"
#include "core/instance_decider.h"

namespace chronova {
namespace {

InstanceRequested Request(const std::string& id) {
  InstanceRequested r;
  r.instance_id = InstanceId(id);
  r.name = "vm-" + id;
  r.project_id = ProjectId("p1");
  r.user_id = UserId("u1");
  r.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
  r.image_id = ImageId("img");
  return r;
}

// Folds `events` into `s` as if they were appended one after the other.
void Fold(InstanceState& s, const std::vector<Event>& events) {
  for (const Event& e : events) {
    Envelope env;
    env.version = s.version.next();
    env.meta.time = Timestamp{static_cast<int64_t>(env.version.value()) * 1000};
    env.meta.request_id = RequestId("req-1");
    ApplyEvent(s, env, e);
  }
}

InstanceState Built(const std::string& host) {
  InstanceState s;
  Fold(s, {Request("i1"), InstanceScheduled{HostName(host)}, BuildStarted{HostName(host)},
           InstanceSpawned{HostName(host), "instance-1"}});
  return s;
}

}  // namespace

TEST_CASE("API status follows Nova's vm_state and task_state map") {
  CHECK(ApiStatus(VmState::kBuilding, TaskState::kScheduling) == "BUILD");
  CHECK(ApiStatus(VmState::kActive, TaskState::kNone) == "ACTIVE");
  CHECK(ApiStatus(VmState::kActive, TaskState::kRebooting) == "REBOOT");
  CHECK(ApiStatus(VmState::kActive, TaskState::kRebootingHard) == "HARD_REBOOT");
  CHECK(ApiStatus(VmState::kActive, TaskState::kResizeMigrating) == "RESIZE");
  CHECK(ApiStatus(VmState::kActive, TaskState::kDeleting) == "ACTIVE");
  CHECK(ApiStatus(VmState::kStopped, TaskState::kNone) == "SHUTOFF");
  CHECK(ApiStatus(VmState::kResized, TaskState::kNone) == "VERIFY_RESIZE");
  CHECK(ApiStatus(VmState::kResized, TaskState::kResizeReverting) == "REVERT_RESIZE");
  CHECK(ApiStatus(VmState::kError, TaskState::kNone) == "ERROR");
  CHECK(ApiStatus(VmState::kShelvedOffloaded, TaskState::kNone) == "SHELVED_OFFLOADED");
  CHECK(ApiStatus(VmState::kSoftDeleted, TaskState::kNone) == "SOFT_DELETED");
  CHECK(VmStateName(VmState::kSoftDeleted) == "soft-delete");
  CHECK(TaskStateName(TaskState::kNone).empty());
}

TEST_CASE("a backup shows Nova's image_backup task; a snapshot image_snapshot") {
  for (bool backup : {false, true}) {
    InstanceState s = Built("h1");
    const ImageId image("img-" + std::to_string(backup));
    Fold(s, {InstanceSnapshotRequested{image, "copy", backup, "daily", 2}});
    CHECK(TaskStateName(s.task_state) == (backup ? "image_backup" : "image_snapshot"));
    CHECK(ApiStatus(s) == "ACTIVE");
    CHECK(CheckTransition(s, InstanceSnapshotCompleted{HostName("h1"), image}).ok());
    Fold(s, {InstanceSnapshotCompleted{HostName("h1"), image}});
    CHECK(s.task_state == TaskState::kNone);
  }
}

TEST_CASE("a build goes BUILD to ACTIVE through legal transitions only") {
  InstanceState s;
  auto created = Decide(s, CreateInstance{Request("i1")});
  REQUIRE(created.ok());
  Fold(s, *created);
  CHECK(ApiStatus(s) == "BUILD");
  CHECK(s.task_state == TaskState::kScheduling);
  CHECK(s.create_request_id == RequestId("req-1"));
  CHECK(s.task_request_id == RequestId("req-1"));

  // A compute report before the scheduler placed it is refused.
  CHECK(Decide(s, ReportProgress{InstanceSpawned{HostName("h1"), ""}})
            .status()
            .IsConflict());
  Fold(s, *Decide(s, ReportProgress{InstanceScheduled{HostName("h1")}}));
  // A report from a host that is not the instance's host is refused.
  CHECK(Decide(s, ReportProgress{BuildStarted{HostName("h2")}}).status().IsConflict());
  Fold(s, *Decide(s, ReportProgress{BuildStarted{HostName("h1")}}));
  CHECK(s.task_state == TaskState::kSpawning);
  Fold(s, *Decide(s, ReportProgress{InstanceSpawned{HostName("h1"), "instance-1"}}));
  CHECK(ApiStatus(s) == "ACTIVE");
  CHECK(s.power_state == PowerState::kRunning);
  CHECK(s.launched_at.micros > 0);
  // Creating the same instance again conflicts.
  CHECK(Decide(s, CreateInstance{Request("i1")}).status().IsConflict());
}

TEST_CASE("a failed build leaves the instance in ERROR with a fault") {
  InstanceState s;
  Fold(s,
       {Request("i1"), InstanceScheduled{HostName("h1")}, BuildStarted{HostName("h1")}});
  Fold(s, *Decide(
              s, ReportProgress{InstanceBuildFailed{HostName("h1"), "libvirt said no"}}));
  CHECK(ApiStatus(s) == "ERROR");
  REQUIRE(s.has_fault);
  CHECK(s.fault.code == 500);
  CHECK(s.fault.message == "libvirt said no");
}

TEST_CASE("no valid host puts the instance in ERROR") {
  InstanceState s;
  Fold(s, {Request("i1")});
  Fold(s,
       *Decide(s, ReportProgress{InstanceSchedulingFailed{"No valid host was found. "}}));
  CHECK(ApiStatus(s) == "ERROR");
  CHECK(s.fault.message == "No valid host was found. ");
}

TEST_CASE("deleting a placed instance asks its host; deleting twice adds nothing") {
  InstanceState s = Built("h1");
  auto del = Decide(s, DeleteInstance{});
  REQUIRE(del.ok());
  REQUIRE(del->size() == 1);
  CHECK(std::holds_alternative<InstanceDeleteRequested>(del->front()));
  Fold(s, *del);
  CHECK(s.task_state == TaskState::kDeleting);
  // A late spawn report during delete is refused; delete again is a no-op.
  CHECK(Decide(s, ReportProgress{InstanceSpawned{HostName("h1"), ""}})
            .status()
            .IsConflict());
  auto again = Decide(s, DeleteInstance{});
  REQUIRE(again.ok());
  CHECK(again->empty());
  // Only the instance's host may report the deletion.
  CHECK(Decide(s, ReportProgress{InstanceDeleted{HostName("h2")}}).status().IsConflict());
  Fold(s, *Decide(s, ReportProgress{InstanceDeleted{HostName("h1")}}));
  CHECK(ApiStatus(s) == "DELETED");
  CHECK(s.terminated_at.micros > 0);
  CHECK(Decide(s, DeleteInstance{}).status().IsNotFound());
}

TEST_CASE(
    "a snapshot runs under image_snapshot from active, stopped, paused or suspended, and "
    "only its own host's report for its image ends it") {
  // BUILD and a task in progress are refused in Nova's words.
  InstanceState building;
  Fold(building, {Request("i1")});
  Status st = Decide(building, SnapshotInstance{ImageId("img-1"), "s"}).status();
  CHECK(st.IsConflict());
  CHECK(st.message() ==
        "Cannot 'createImage' instance i1 while it is in vm_state building");

  InstanceState s = Built("h1");
  s.locked = true;  // a lock does not stop a snapshot (Nova)
  auto requested = Decide(s, SnapshotInstance{ImageId("img-1"), "s"});
  REQUIRE(requested.ok());
  Fold(s, *requested);
  CHECK(s.task_state == TaskState::kImageSnapshot);
  CHECK(s.snapshot_image_id == ImageId("img-1"));
  CHECK(ApiStatus(s) == "ACTIVE");
  st = Decide(s, SnapshotInstance{ImageId("img-2"), "t"}).status();
  CHECK(st.message() ==
        "Cannot 'createImage' instance i1 while it is in task_state image_snapshot");
  // Another host, or a report for another image, is refused.
  CHECK(Decide(s, ReportProgress{InstanceSnapshotCompleted{HostName("h2"),
                                                           ImageId("img-1")}})
            .status()
            .IsConflict());
  CHECK(Decide(s, ReportProgress{InstanceSnapshotCompleted{HostName("h1"),
                                                           ImageId("img-9")}})
            .status()
            .IsConflict());
  Fold(s, *Decide(s, ReportProgress{
                         InstanceSnapshotCompleted{HostName("h1"), ImageId("img-1")}}));
  CHECK(s.task_state == TaskState::kNone);
  CHECK(s.snapshot_image_id.empty());
  CHECK(s.vm_state == VmState::kActive);

  // From stopped, a failure keeps the vm_state and clears the task.
  Fold(s, {InstanceActionRequested{"stop", false},
           InstanceActionCompleted{HostName("h1"), "stop", 4}});
  Fold(s, *Decide(s, SnapshotInstance{ImageId("img-3"), "u"}));
  Fold(s, *Decide(s, ReportProgress{InstanceSnapshotFailed{HostName("h1"),
                                                           ImageId("img-3"), "no"}}));
  CHECK(s.vm_state == VmState::kStopped);
  CHECK(s.task_state == TaskState::kNone);
  CHECK_FALSE(s.has_fault);
  CHECK(
      Decide(InstanceState{}, SnapshotInstance{ImageId("x"), "v"}).status().IsNotFound());
}

TEST_CASE(
    "shelve: an offloaded server leaves its host, and unshelve waits for a placement "
    "before its new host may report") {
  InstanceState s = Built("h1");
  s.locked = true;
  CHECK(Decide(s, ShelveInstance{ImageId("img-s"), true}).status().message() ==
        "Instance i1 is locked");
  s.locked = false;
  Fold(s, *Decide(s, ShelveInstance{ImageId("img-s"), true}));
  CHECK(s.task_state == TaskState::kShelving);
  CHECK(TaskStateName(s.task_state) == "shelving");
  CHECK(Decide(s, ShelveInstance{ImageId("img-t"), true}).status().message() ==
        "Cannot 'shelve' instance i1 while it is in task_state shelving");
  // Only the server's host reports it.
  CHECK(Decide(s, ReportProgress{InstanceShelved{HostName("h2"), true, 0}})
            .status()
            .IsConflict());
  Fold(s, *Decide(s, ReportProgress{InstanceShelved{HostName("h1"), true, 0}}));
  CHECK(ApiStatus(s) == "SHELVED_OFFLOADED");
  CHECK(s.host.empty());
  CHECK(s.shelved_image_id == ImageId("img-s"));
  CHECK_FALSE(InFlight(s));

  // A zone only for an offloaded server; this one is.
  Fold(s, *Decide(s, UnshelveInstance{true, "az2"}));
  CHECK(s.task_state == TaskState::kUnshelving);
  CHECK(s.availability_zone == "az2");
  CHECK(InFlight(s));
  // No host yet: nobody may report it spawned; the scheduler places it.
  CHECK(Decide(s, ReportProgress{InstanceUnshelved{HostName("h2"), 1, "", {}}})
            .status()
            .IsConflict());
  Fold(s, *Decide(s, ReportProgress{InstanceScheduled{HostName("h2")}}));
  CHECK(s.host == HostName("h2"));
  CHECK(s.task_state == TaskState::kUnshelving);
  CHECK(s.vm_state == VmState::kShelvedOffloaded);
  // A failed spawn leaves it offloaded, on no host, with the fault.
  Fold(s, *Decide(s, ReportProgress{InstanceUnshelveFailed{HostName("h2"), "no"}}));
  CHECK(ApiStatus(s) == "SHELVED_OFFLOADED");
  CHECK(s.host.empty());
  CHECK(s.has_fault);
  // No valid host leaves it offloaded too (not ERROR, as a build).
  Fold(s, *Decide(s, UnshelveInstance{}));
  Fold(s, *Decide(s, ReportProgress{InstanceSchedulingFailed{"none"}}));
  CHECK(ApiStatus(s) == "SHELVED_OFFLOADED");
  Fold(s, *Decide(s, UnshelveInstance{}));
  Fold(s, *Decide(s, ReportProgress{InstanceScheduled{HostName("h2")}}));
  Fold(s, *Decide(
              s, ReportProgress{InstanceUnshelved{HostName("h2"), 1, "instance-1", {}}}));
  CHECK(ApiStatus(s) == "ACTIVE");
  CHECK(s.shelved_image_id.empty());

  // Kept on its host (shelved_offload_time -1): a zone is refused in Nova's words.
  Fold(s, *Decide(s, ShelveInstance{ImageId("img-u"), false}));
  Fold(s, *Decide(s, ReportProgress{InstanceShelved{HostName("h2"), false, 4}}));
  CHECK(ApiStatus(s) == "SHELVED");
  CHECK(s.host == HostName("h2"));
  Status st = Decide(s, UnshelveInstance{true, "az1"}).status();
  CHECK(st.IsConflict());
  CHECK(st.message() ==
        "Specifying an availability zone or a host when unshelving server \"i1\" with "
        "status \"shelved\" is not supported. The server status must be "
        "SHELVED_OFFLOADED.");
  CHECK(Decide(Built("h3"), ShelveOffloadInstance{}).status().message() ==
        "Cannot 'shelveOffload' instance i1 while it is in vm_state active");
  Fold(s, *Decide(s, ShelveOffloadInstance{}));
  CHECK(TaskStateName(s.task_state) == "shelving_offloading");
  // An offload reports the guest gone; a failure keeps it SHELVED.
  CHECK(Decide(s, ReportProgress{InstanceShelved{HostName("h2"), false, 4}})
            .status()
            .IsConflict());
  Fold(s, *Decide(s, ReportProgress{InstanceShelveFailed{HostName("h2"), 4, "busy"}}));
  CHECK(ApiStatus(s) == "SHELVED");
  CHECK(s.shelved_image_id == ImageId("img-u"));  // still what it unshelves from
}

TEST_CASE(
    "deferred delete: DELETE soft-deletes a settled server that ran, restore brings it "
    "back, and anything else is deleted at once") {
  InstanceState s = Built("h1");
  auto soft = Decide(s, DeleteInstance{false, /*soft=*/true});
  REQUIRE(soft.ok());
  REQUIRE(soft->size() == 1);
  CHECK(std::holds_alternative<InstanceSoftDeleteRequested>(soft->front()));
  Fold(s, *soft);
  CHECK(TaskStateName(s.task_state) == "soft-deleting");
  Fold(s, *Decide(s, ReportProgress{InstanceSoftDeleted{HostName("h1"), 4}}));
  CHECK(ApiStatus(s) == "SOFT_DELETED");
  CHECK(VmStateName(s.vm_state) == "soft-delete");
  Fold(s, *Decide(s, RestoreInstance{}));
  CHECK(TaskStateName(s.task_state) == "restoring");
  Fold(s, *Decide(s, ReportProgress{InstanceRestored{HostName("h1"), 1}}));
  CHECK(ApiStatus(s) == "ACTIVE");
  CHECK(Decide(s, RestoreInstance{}).status().message() ==
        "Cannot 'restore' instance i1 while it is in vm_state active");
  // A soft-deleted server deleted again (forceDelete, reclaim) goes for good.
  Fold(s, *Decide(s, DeleteInstance{false, true}));
  Fold(s, *Decide(s, ReportProgress{InstanceSoftDeleted{HostName("h1"), 4}}));
  auto hard = Decide(s, DeleteInstance{false, true});
  REQUIRE(hard.ok());
  CHECK(std::holds_alternative<InstanceDeleteRequested>(hard->front()));
  // Never launched: deleted at once, soft or not.
  InstanceState building;
  Fold(building, {Request("i2")});
  auto local = Decide(building, DeleteInstance{false, true});
  REQUIRE(local.ok());
  CHECK(local->size() == 2);
  CHECK(std::holds_alternative<InstanceDeleted>(local->back()));
}

TEST_CASE("resize: VERIFY_RESIZE with the new flavor, then confirm or revert") {
  const FlavorSpec small{FlavorId("2"), "m1.small", 1, 2048, 20, 0, 0, {}};
  InstanceState s = Built("h1");
  InstanceResizeRequested r{"mig-1", small, HostName("h1"), HostName("h2")};
  // Same flavor, a zero or smaller disk: 400s with Nova's words.
  InstanceResizeRequested same = r;
  same.flavor = s.flavor;
  CHECK(Decide(s, ResizeInstance{same}).status().message() ==
        "When resizing, instances must change flavor!");
  InstanceResizeRequested zero = r;
  zero.flavor.root_gb = 0;
  CHECK(Decide(s, ResizeInstance{zero}).status().message() ==
        "Server disk was unable to be resized because: Resize to zero disk flavor is "
        "not allowed.");
  Fold(s, *Decide(s, ResizeInstance{r}));
  CHECK(ApiStatus(s) == "RESIZE");
  CHECK(s.task_state == TaskState::kResizePrep);
  CHECK(s.flavor.id == FlavorId("1"));
  CHECK(Decide(s, ConfirmResize{}).status().message() ==
        "Cannot 'confirmResize' instance i1 while it is in vm_state active");
  // Only the destination reports the outcome.
  CHECK(Decide(s, ReportProgress{InstanceResizeFinished{HostName("h1"), 1}})
            .status()
            .IsConflict());
  Fold(s, *Decide(s, ReportProgress{InstanceResizeFinished{HostName("h2"), 1}}));
  CHECK(ApiStatus(s) == "VERIFY_RESIZE");
  CHECK(s.flavor.id == FlavorId("2"));
  CHECK(s.host == HostName("h2"));
  CHECK(Decide(s, ResizeInstance{r}).status().IsConflict());
  Fold(s, *Decide(s, RevertResize{}));
  CHECK(ApiStatus(s) == "REVERT_RESIZE");
  Fold(s, *Decide(s, ReportProgress{InstanceResizeReverted{HostName("h2"), 1}}));
  CHECK(ApiStatus(s) == "ACTIVE");
  CHECK(s.flavor.id == FlavorId("1"));
  CHECK(s.host == HostName("h1"));
  CHECK(s.migration_id.empty());

  // From stopped, confirm leaves it SHUTOFF.
  Fold(s, {InstanceActionRequested{"stop", false},
           InstanceActionCompleted{HostName("h1"), "stop", 4}});
  r.migration_id = "mig-2";
  r.dest_host = HostName("h1");
  Fold(s, *Decide(s, ResizeInstance{r}));
  CHECK(ApiStatus(s) == "RESIZE");
  Fold(s, *Decide(s, ReportProgress{InstanceResizeFinished{HostName("h1"), 4}}));
  Fold(s, *Decide(s, ConfirmResize{}));
  CHECK(ApiStatus(s) == "SHUTOFF");
  CHECK(s.flavor.id == FlavorId("2"));
  CHECK(Decide(s, RevertResize{}).status().IsConflict());
  // A smaller disk than the current one is refused.
  InstanceResizeRequested down = r;
  down.migration_id = "mig-3";
  down.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {}};
  CHECK(Decide(s, ResizeInstance{down}).status().message() ==
        "Server disk was unable to be resized because: Unable to resize disk down.");
}

TEST_CASE("an instance that never reached a host is deleted at once") {
  InstanceState s;
  Fold(s, {Request("i1")});
  auto del = Decide(s, DeleteInstance{});
  REQUIRE(del.ok());
  REQUIRE(del->size() == 2);
  CHECK(std::holds_alternative<InstanceDeleted>(del->back()));
  Fold(s, *del);
  CHECK(ApiStatus(s) == "DELETED");
  // The scheduler, arriving late, may no longer place it.
  CHECK(CheckTransition(s, InstanceScheduled{HostName("h1")}).IsConflict());
}

TEST_CASE("deleting an unknown instance is NotFound") {
  CHECK(Decide(InstanceState{}, DeleteInstance{}).status().IsNotFound());
}

TEST_CASE("host claims respect allocation ratios and are released exactly") {
  HostState h;
  Envelope env;
  auto fold = [&](const std::vector<Event>& events) {
    for (const Event& e : events) {
      env.version = env.version.next();
      ApplyHostEvent(h, env, e);
    }
  };
  CHECK(
      Decide(h, ClaimResources{InstanceId("a"), Claim{1, 512, 1}}).status().IsNotFound());
  HostRegistered reg;
  reg.host = HostName("h1");
  reg.vcpus = 2;
  reg.memory_mb = 2048;
  reg.disk_gb = 10;
  fold({reg});
  CHECK(h.VcpuLimit() == 32);
  CHECK(h.MemoryLimitMb() == 3072);
  fold(*Decide(h, ClaimResources{InstanceId("a"), Claim{1, 2048, 5}}));
  CHECK(h.used.memory_mb == 2048);
  // Claiming again for the same instance adds nothing.
  CHECK(Decide(h, ClaimResources{InstanceId("a"), Claim{1, 2048, 5}})->empty());
  auto too_big = Decide(h, ClaimResources{InstanceId("b"), Claim{1, 1500, 1}});
  REQUIRE(too_big.status().IsConflict());
  CHECK(too_big.status().message().find("memory_mb") != std::string::npos);
  fold(*Decide(h, ReleaseResources{InstanceId("a")}));
  CHECK(h.used == Claim{});
  CHECK(h.claims.empty());
  CHECK(Decide(h, ReleaseResources{InstanceId("a")})->empty());
}

TEST_CASE("every event round-trips through its envelope payload") {
  std::vector<Event> all{
      Request("i1"),
      InstanceScheduled{HostName("h")},
      InstanceSchedulingFailed{"none"},
      BuildStarted{HostName("h")},
      InstanceSpawned{HostName("h"), "d"},
      InstanceBuildFailed{HostName("h"), "r"},
      InstanceDeleteRequested{},
      InstanceDeleted{HostName("h")},
      InstanceUpdated{true, "n", true, "10.0.0.1", false, "", true, false, "d"},
      InstanceMetadataChanged{{{"k", "v"}}, {"gone"}},
      HostRegistered{},
      HostResourcesClaimed{InstanceId("i"), 1, 2, 3},
      HostResourcesReleased{InstanceId("i")},
      FlavorCreated{},
      FlavorDeleted{},
      ImageRegistered{},
      InstanceActionRequested{"reboot", true},
      InstanceActionCompleted{HostName("h"), "reboot", 1},
      InstanceActionFailed{HostName("h"), "stop", "r"},
      InstanceLocked{true},
      InstanceUnlocked{},
      InstanceRebuildRequested{ImageId("i"), "n", true, {{"k", "v"}}},
      InstanceRebuilt{HostName("h"), 4},
      InstanceRebuildFailed{HostName("h"), "r"},
      TokenRevoked{"audit", UserId("u"), Timestamp{5}},
      ImageCreated{},
      ImageUploadStarted{},
      ImageUploadFailed{"disk full"},
      ImageActivated{},
      ImageUpdated{},
      ImageDeleted{},
      HostServiceDisabled{"maintenance"},
      HostServiceEnabled{},
      AggregateCreated{7, "rack", "az1"},
      AggregateUpdated{"rack2", "az1"},
      AggregateMetadataSet{{{"ssd", "true"}}, {"gone"}},
      AggregateHostAdded{HostName("h")},
      AggregateHostRemoved{HostName("h")},
      AggregateDeleted{},
      FlavorAccessAdded{ProjectId("p")},
      FlavorAccessRemoved{ProjectId("p")},
      FlavorExtraSpecsSet{{{"k", "v"}}},
      FlavorExtraSpecDeleted{"k"},
      FlavorDescriptionSet{"d"},
      KeypairCreated{UserId("u"), "n", "ssh", "ssh-rsa AAAA", "aa:bb"},
      KeypairDeleted{"n"},
      KeypairTagsSet{"n", {{"env", "prod"}}},
      QuotaLimitsSet{ProjectId("p"), UserId("u"), {{"cores", 4}}},
      QuotaLimitsDeleted{ProjectId("p"), UserId()},
      QuotaClassSet{"default", {{"ram", 1}}},
      QuotaUsageReserved{ProjectId("p"), UserId("u"), {InstanceId("i")}, 1, 2},
      InstanceStateReset{"error"},
      InstanceSnapshotRequested{ImageId("img"), "snap"},
      InstanceSnapshotCompleted{HostName("h"), ImageId("img")},
      InstanceSnapshotFailed{HostName("h"), ImageId("img"), "r"},
      InstancePowerStateChanged{HostName("h"), 4, "lifecycle event"},
      InstanceRescueRequested{ImageId("img")},

      InstanceResizeRequested{"m", FlavorSpec{}, HostName("h"), HostName("g")},
      InstanceResizeFinished{HostName("g"), 1},
      InstanceResizeFailed{HostName("g"), "r"},
      InstanceResizeConfirmed{},
      InstanceResizeRevertRequested{},
      InstanceResizeReverted{HostName("g"), 4},
      InstanceConsoleAuthorized{"h", "novnc", HostName("g"), "127.0.0.1", 5900, "",
                                Timestamp{5}},
      ServerGroupCreated{"g", "n", UserId("u"), "anti-affinity", 2},
      ServerGroupMemberScheduled{"g", InstanceId("i"), HostName("h")},
      ServerGroupDeleted{"g"},
      HostForcedDownSet{true},
      InstanceCrashDumpRequested{},
      InstanceTagsSet{{"a", "b"}},
      InstanceExternalEventReceived{"network-changed", "completed", ""},
      InstanceDiskConfigSet{true},
      InstanceShelveRequested{ImageId("img"), true},
      InstanceShelveOffloadRequested{},
      InstanceShelved{HostName("h"), true, 0},
      InstanceShelveFailed{HostName("h"), 1, "r"},
      InstanceUnshelveRequested{true, "az1"},
      InstanceUnshelved{HostName("h"), 1, "instance-i", {{"vnc", "127.0.0.1:5900"}}},
      InstanceUnshelveFailed{HostName("h"), "r"},
      InstanceSoftDeleteRequested{},
      InstanceSoftDeleted{HostName("h"), 4},
      InstanceRestoreRequested{},
      InstanceRestored{HostName("h"), 1},
      CredentialCreated{"c", UserId("u"), ProjectId("p"), "ec2", "ak", "sealed"},
      CredentialDeleted{},
      CertificateIssued{"0a", UserId("u"), ProjectId("p"), "/O=p/CN=u-1", "ff",
                        Timestamp{1}, Timestamp{2}},
      InstanceCrashDumpFinished{HostName("h"), "Triggering crash dump is not supported"}};
  REQUIRE(all.size() == std::variant_size_v<Event>);
  for (const Event& e : all) {
    NewEvent ne = MakeNewEvent(e, EventMeta{});
    Envelope env{Seq(9),    StreamId("x/y"), StreamVersion(1), ne.type,
                 ne.schema, ne.meta,         ne.payload};
    Envelope decoded_env;
    REQUIRE(DecodeEnvelope(EncodeEnvelope(env), &decoded_env).ok());
    CHECK(decoded_env == env);
    Result<Event> back = DecodeEvent(decoded_env);
    REQUIRE(back.ok());
    CHECK(back->index() == e.index());
    CHECK(MakeNewEvent(*back, EventMeta{}).payload == ne.payload);
  }
}

TEST_CASE("an event decoded in place over another is the event decoded afresh") {
  InstanceRequested big = Request("a-much-longer-instance-id-than-the-other-one");
  big.metadata = {{"k1", "v1"}, {"k2", "a value longer than fifteen bytes"}};
  big.scheduler_hints = {{"group", {"g1", "g2"}}};
  big.flavor.extra_specs = {{"hw:cpu_policy", "dedicated"}};
  big.user_data = std::string(300, 'x');
  big.launch_index = 7;
  InstanceRequested small = Request("i2");
  auto envelope = [](const Event& e) {
    NewEvent ne = MakeNewEvent(e, EventMeta{});
    return Envelope{
        Seq(5),    StreamId("instance/x"), StreamVersion(1), ne.type, ne.schema, ne.meta,
        ne.payload};
  };
  const std::vector<Event> events{Event(small), Event(big),
                                  InstanceDeleted{HostName("h")},
                                  InstanceSchedulingFailed{"none"}};
  // Every event into every other one: the same type (its memory reused), or another.
  for (const Event& target : events) {
    for (const Event& e : events) {
      Event into = target;
      REQUIRE(DecodeEventInto(envelope(e), UpcasterSet::Default(), &into).ok());
      CHECK(into.index() == e.index());
      CHECK(MakeNewEvent(into, EventMeta{}).payload ==
            MakeNewEvent(e, EventMeta{}).payload);
    }
  }
  // Envelopes too: one decoded over another holds nothing of it.
  Envelope over = envelope(big);
  over.meta.actor.roles = {"admin", "member", "reader"};
  over.meta.request_id = RequestId("req-" + std::string(40, 'r'));
  Envelope plain = envelope(small);
  REQUIRE(DecodeEnvelope(EncodeEnvelope(plain), &over).ok());
  CHECK(over == plain);
  // Ids are written as their bare strings, as before the fast archives had their own.
  CHECK(EncodePortable(InstanceId("abc")) == EncodePortable(std::string("abc")));
}

TEST_CASE("an unknown type or schema is Corruption naming the seq") {
  Envelope env{
      Seq(42), StreamId("instance/x"), StreamVersion(1), "instance.exploded", 1, {}, ""};
  Result<Event> r = DecodeEvent(env);
  REQUIRE(r.status().IsCorruption());
  CHECK(r.status().message().find("seq 42") != std::string::npos);

  NewEvent ne = MakeNewEvent(InstanceDeleted{HostName("h")}, EventMeta{});
  Envelope newer{Seq(43),   StreamId("instance/x"), StreamVersion(1), ne.type, 2, {},
                 ne.payload};
  CHECK(DecodeEvent(newer).status().IsCorruption());

  Envelope garbage{Seq(44), StreamId("instance/x"), StreamVersion(1), ne.type, 1, {},
                   "\x01"};
  Result<Event> g = DecodeEvent(garbage);
  REQUIRE(g.status().IsCorruption());
  CHECK(g.status().message().find("seq 44") != std::string::npos);

  Envelope out;
  CHECK(DecodeEnvelope("not an envelope", &out).IsCorruption());
}

// tests/fuzz/regressions/event_decode/crash-8bfae787...: instance.locked of
// schema 1 whose bool byte was 0x47 (undefined behaviour once loaded).
TEST_CASE("a bool stored as any byte but 0 or 1 is corrupt, at every schema") {
  for (uint32_t schema : {1u, 2u}) {
    Envelope env{
        Seq(7), StreamId("instance/x"),    StreamVersion(1), "instance.locked", schema,
        {},     std::string("\x01\x47", 2)};
    Result<Event> r = DecodeEvent(env);
    INFO("schema " << schema);
    CHECK(r.status().IsCorruption());
  }
  NewEvent locked = MakeNewEvent(InstanceLocked{true, "why"}, EventMeta{});
  Envelope good{Seq(8),        StreamId("instance/x"), StreamVersion(1),
                locked.type,   locked.schema,          {},
                locked.payload};
  Result<Event> decoded = DecodeEvent(good);
  REQUIRE(decoded.ok());
  CHECK(std::get<InstanceLocked>(*decoded).by_admin);
}

TEST_CASE("old schemas are upcast before decoding") {
  // Pretend instance.scheduling_failed schema 0 stored the reason in upper case.
  UpcasterSet ups;
  ups.Add("instance.scheduling_failed", 0,
          [](std::string_view old) -> Result<std::string> {
            InstanceSchedulingFailed e;
            CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &e));
            for (char& c : e.reason) c = static_cast<char>(std::tolower(c));
            return EncodePortable(e);
          });
  NewEvent ne = MakeNewEvent(InstanceSchedulingFailed{"NO HOST"}, EventMeta{});
  Envelope env{Seq(1),    StreamId("instance/x"), StreamVersion(2), ne.type, 0, {},
               ne.payload};
  Result<Event> r = DecodeEvent(env, ups);
  REQUIRE(r.ok());
  CHECK(std::get<InstanceSchedulingFailed>(*r).reason == "no host");
  // Without the upcaster, schema 0 is refused rather than misread.
  CHECK(DecodeEvent(env).status().IsCorruption());
}

TEST_CASE("events render as JSON with their field names") {
  std::string j = EventPayloadJson(InstanceBuildFailed{HostName("h1"), "disk \"full\""});
  CHECK(j.find("\"host\": \"h1\"") != std::string::npos);
  CHECK(j.find("disk \\\"full\\\"") != std::string::npos);
  Envelope env{Seq(3),
               StreamId("instance/x"),
               StreamVersion(1),
               "instance.build_failed",
               1,
               EventMeta{Timestamp{0}, RequestId("req-1"), Seq(2), Actor{}},
               ""};
  Event ev = InstanceDeleteRequested{};
  std::string e = EnvelopeJson(env, &ev);
  CHECK(e.find("\"seq\":3") != std::string::npos);
  CHECK(e.find("\"causation\":2") != std::string::npos);
  CHECK(e.find("\"time\":\"1970-01-01T00:00:00.000000Z\"") != std::string::npos);
}

TEST_CASE(
    "JSON strings escape quotes, backslashes and control characters, and only those") {
  CHECK(JsonQuote("") == "\"\"");
  CHECK(JsonQuote("plain text é") == "\"plain text é\"");
  CHECK(JsonQuote(std::string("a\"b\\c\nd\re\tf\x01g\x1f", 14)) ==
        "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001f\"");
  CHECK(JsonQuote(std::string("\0", 1)) == "\"\\u0000\"");
  std::string out = "[";
  AppendJsonQuoted("x", &out);
  CHECK(out == "[\"x\"");
}

TEST_CASE("FakeEnv is deterministic and UUIDs are well formed") {
  FakeEnv a(7), b(7);
  std::string u = a.NewUuid();
  CHECK(u == b.NewUuid());
  CHECK(IsUuid(u));
  CHECK(u[14] == '4');
  CHECK_FALSE(IsUuid("not-a-uuid"));
  Timestamp t0 = a.Now();
  a.SleepForMicros(5);
  CHECK(a.Now().micros == t0.micros + 5);
  CHECK(IsUuid(Env::Default()->NewUuid()));
}

TEST_CASE("timestamps print and parse as ISO 8601 UTC") {
  Timestamp t{1764093723123456};
  CHECK(FormatIso8601(t) == "2025-11-25T18:02:03.123456Z");
  CHECK(FormatIso8601Seconds(t) == "2025-11-25T18:02:03Z");
  CHECK(FormatIso8601(Timestamp{0}) == "1970-01-01T00:00:00.000000Z");
  CHECK(FormatIso8601(Timestamp{-1}) == "1969-12-31T23:59:59.999999Z");
  CHECK(FormatIso8601Seconds(Timestamp{253402300799000000}) == "9999-12-31T23:59:59Z");
  Timestamp back;
  REQUIRE(ParseIso8601("2025-11-25T18:02:03.123456Z", &back));
  CHECK(back == t);
  REQUIRE(ParseIso8601("2025-11-25T18:02:03", &back));
  CHECK(back.micros == 1764093723000000);
  CHECK_FALSE(ParseIso8601("yesterday", &back));
}

TEST_CASE("INI files parse like nova.conf") {
  auto ini = IniFile::Parse("# comment\nstate_dir = /x\n[nats]\nurl= nats://h:1 \n; c\n");
  REQUIRE(ini.ok());
  CHECK(ini->Get("DEFAULT", "state_dir") == "/x");
  CHECK(ini->Get("nats", "url") == "nats://h:1");
  CHECK(ini->Get("nats", "state_dir") == "/x");  // falls back to [DEFAULT]
  CHECK(ini->GetOr("log", "backend", "rocksdb") == "rocksdb");
  auto bad = IniFile::Parse("[nats\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("line 1") != std::string::npos);
}

}  // namespace chronova

namespace chronova::testing {
namespace {

template <typename T>
std::string CerealPortableBytes(const T& value) {
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(value);
  }
  return out.str();
}

}  // namespace

TEST_CASE(
    "records are cereal's portable binary bytes, written and read by our archives") {
  InstanceState s;
  s.exists = true;
  s.version = StreamVersion(7);
  s.id = InstanceId("9f2c0a4e-3b1d-4c5e-8f6a-7b8c9d0e1f2a");
  s.name = std::string(300, 'n');  // longer than any small-string buffer
  s.project_id = ProjectId("p1");
  s.flavor = FlavorSpec{FlavorId("1"), "m1.tiny", 1, 512, 1, 0, 0, {{"hw:cpu", "2"}}};
  s.metadata = {{"a", "1"}, {"b", ""}, {"", "empty key"}};
  s.launch_index = -3;
  s.vm_state = VmState::kActive;
  s.created_at = Timestamp{-1};
  s.updated_at = Timestamp{std::numeric_limits<int64_t>::max()};
  s.task_seq = Seq(std::numeric_limits<uint64_t>::max());
  s.has_fault = true;
  s.fault.message = "No valid host was found. ";
  s.fault.code = 500;

  const std::string cereal_bytes = CerealPortableBytes(s);
  CHECK(EncodePortable(s) == cereal_bytes);
  InstanceState back;
  REQUIRE(DecodePortable(cereal_bytes, &back).ok());
  CHECK(back == s);

  Envelope env;
  env.seq = Seq(42);
  env.stream = StreamId("instance/abc");
  env.version = StreamVersion(3);
  env.type = "instance.spawned";
  env.schema = 2;
  env.meta = EventMeta{Timestamp{1700000000000000}, RequestId("req-1"), Seq(41),
                       Actor{UserId("u"), ProjectId("p"), {"member", "reader"}}};
  env.payload = std::string("\x00\x01\xff", 3);
  CHECK(EncodePortable(env) == CerealPortableBytes(env));
  Envelope env_back;
  REQUIRE(DecodePortable(CerealPortableBytes(env), &env_back).ok());
  CHECK(env_back == env);

  // Malformed: cut short, trailing bytes, a big-endian header, nothing at all.
  for (size_t cut : {size_t{0}, size_t{1}, size_t{9}, cereal_bytes.size() - 1}) {
    InstanceState x;
    CHECK(
        DecodePortable(std::string_view(cereal_bytes).substr(0, cut), &x).IsCorruption());
  }
  InstanceState x;
  CHECK(DecodePortable(cereal_bytes + "!", &x).IsCorruption());
  std::string big_endian = cereal_bytes;
  big_endian[0] = 0;
  CHECK(DecodePortable(big_endian, &x).IsCorruption());
  // A string whose size is far beyond the record: refused before allocating.
  std::string huge = EncodePortable(std::string("abc"));
  huge[1] = '\xff';
  huge[7] = '\x7f';
  std::string str;
  Status refused = DecodePortable(huge, &str);
  CHECK(refused.IsCorruption());
  CHECK(refused.message().find("beyond the record") != std::string::npos);
  // At the boundary: a size equal to the bytes left is a whole string; one more
  // is refused.
  std::string exact = EncodePortable(std::string("abc"));
  REQUIRE(DecodePortable(exact, &str).ok());
  CHECK(str == "abc");
  exact[1] = '\x04';
  CHECK(DecodePortable(exact, &str).IsCorruption());
  // Other shapes: a host's doubles and claims map, an instance's actions (vectors
  // of structs in structs), an empty event payload.
  HostState h;
  h.ram_allocation_ratio = 0.1;  // not exact in binary: every bit must survive
  h.claims[InstanceId("i1")] = Claim{};
  CHECK(EncodePortable(h) == CerealPortableBytes(h));
  HostState h_back;
  REQUIRE(DecodePortable(CerealPortableBytes(h), &h_back).ok());
  CHECK(h_back == h);
  CHECK(EncodePortable(std::vector<Envelope>{env, Envelope{}}) ==
        CerealPortableBytes(std::vector<Envelope>{env, Envelope{}}));
  CHECK(EncodePortable(HostServiceEnabled{}) == std::string("\x01"));
  HostServiceEnabled empty;
  CHECK(DecodePortable("\x01", &empty).ok());
  CHECK(DecodePortable("", &empty).IsCorruption());
}

}  // namespace chronova::testing
