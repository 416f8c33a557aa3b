// The messages agents exchange over the Bus, encoded with cereal's portable binary
// archive. Unlike events they are not history: they may be lost and re-sent.
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/types/variant.hpp>
#include <string>
#include <variant>
#include <vector>

#include "core/codec.h"
#include "core/event_codec.h"
#include "core/events.h"

namespace chronova {

// Conductor → compute host: one struct per kind of work, sent as Work. Each
// carries its origin (what its reports point back to).

// The instance a piece of work is about, and the event and request that asked
// for it.
struct WorkOrigin {
  InstanceId instance_id;
  Seq causation;  // the event that asked for this work
  RequestId request_id;
  Actor actor;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(instance_id), CEREAL_NVP(causation), CEREAL_NVP(request_id),
       CEREAL_NVP(actor));
  }
};

// The guest a piece of work runs: its name, flavor and image.
struct WorkGuest {
  std::string name;
  FlavorSpec flavor;
  ImageId image_id;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(name), CEREAL_NVP(flavor), CEREAL_NVP(image_id));
  }
};

// Spawn the guest.
struct BuildWork {
  WorkOrigin origin;
  WorkGuest guest;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(guest));
  }
};

// Destroy the guest and its files.
struct DeleteWork {
  WorkOrigin origin;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin));
  }
};

// A lifecycle action (LifecycleActionName) and, for a reboot, its type.
struct ActionWork {
  WorkOrigin origin;
  WorkGuest guest;
  std::string action;
  bool hard = false;
  ImageId rescue_image_id;  // "rescue": the image the rescue guest boots from
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(guest), CEREAL_NVP(action), CEREAL_NVP(hard),
       CEREAL_NVP(rescue_image_id));
  }
};

// A new guest from the image; it stays shut off if the instance was stopped.
struct RebuildWork {
  WorkOrigin origin;
  WorkGuest guest;
  bool keep_stopped = false;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(guest), CEREAL_NVP(keep_stopped));
  }
};

// The guest's disk uploaded into the queued image snapshot_image_id.
struct SnapshotWork {
  WorkOrigin origin;
  WorkGuest guest;
  ImageId snapshot_image_id;
  // A backup (createBackup): after the upload, the server's backups of this
  // type beyond `rotation` go, oldest first.
  bool backup = false;
  std::string backup_type;
  int32_t rotation = 0;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(guest), CEREAL_NVP(snapshot_image_id),
       CEREAL_NVP(backup), CEREAL_NVP(backup_type), CEREAL_NVP(rotation));
  }
};

// Destroy a guest the log does not place on this host (its instance was
// deleted, or lives elsewhere); nothing is reported.
struct ReapWork {
  WorkOrigin origin;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin));
  }
};

// Report the guest's power state now, with `reason`.
struct SyncPowerStateWork {
  WorkOrigin origin;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(reason));
  }
};

// To a resize's destination: run the guest with guest.flavor (the new one),
// from source_host (this host too for a resize in place).
struct ResizeWork {
  WorkOrigin origin;
  WorkGuest guest;
  HostName source_host;
  bool keep_stopped = false;  // the server was stopped
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(guest), CEREAL_NVP(source_host),
       CEREAL_NVP(keep_stopped));
  }
};

// To the host of a resize the server is not on (after a confirm, or a delete
// during one): drop the guest.
struct ResizeConfirmWork {
  WorkOrigin origin;
  HostName source_host;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(source_host));
  }
};

// To a resize's destination: back to guest.flavor (the old one), on the source.
struct ResizeRevertWork {
  WorkOrigin origin;
  WorkGuest guest;
  HostName source_host;
  bool keep_stopped = false;  // the server was stopped, or shut down
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(guest), CEREAL_NVP(source_host),
       CEREAL_NVP(keep_stopped));
  }
};

// To the server's host: inject an NMI (trigger_crash_dump).
struct CrashDumpWork {
  WorkOrigin origin;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin));
  }
};

// Shelve: the guest is powered off and (`snapshot`) its disk uploaded into the
// queued image shelved_image_id; with `offload` the guest then goes. A
// shelveOffload is this without the snapshot.
struct ShelveWork {
  WorkOrigin origin;
  WorkGuest guest;
  ImageId shelved_image_id;
  bool snapshot = true;
  bool offload = false;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(guest), CEREAL_NVP(shelved_image_id),
       CEREAL_NVP(snapshot), CEREAL_NVP(offload));
  }
};

// Unshelve: the guest is spawned from guest.image_id (the shelved image) on
// this host (`spawn`, an offloaded server), or the shelved guest started;
// then the shelved image is deleted.
struct UnshelveWork {
  WorkOrigin origin;
  WorkGuest guest;
  bool spawn = false;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(guest), CEREAL_NVP(spawn));
  }
};

// Soft delete (`restore` false: the guest is powered off) or restore (it is
// started again).
struct SoftDeleteWork {
  WorkOrigin origin;
  bool restore = false;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(origin), CEREAL_NVP(restore));
  }
};

using Work =
    std::variant<BuildWork, DeleteWork, ActionWork, RebuildWork, SnapshotWork, ReapWork,
                 SyncPowerStateWork, ResizeWork, ResizeConfirmWork, ResizeRevertWork,
                 CrashDumpWork, ShelveWork, UnshelveWork, SoftDeleteWork>;

// The origin every kind of work carries.
inline const WorkOrigin& OriginOf(const Work& w) {
  return std::visit([](const auto& k) -> const WorkOrigin& { return k.origin; }, w);
}

// Compute host → conductor: "this happened"; the conductor decides whether to
// record it. `event` is an encoded event (type, schema, payload).
struct Report {
  HostName host;
  InstanceId instance_id;  // empty for a host-level fact (host.registered)
  Seq causation;
  RequestId request_id;
  Actor actor;
  std::string type;
  uint32_t schema = 1;
  std::string payload;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(instance_id), CEREAL_NVP(causation),
       CEREAL_NVP(request_id), CEREAL_NVP(actor), CEREAL_NVP(type), CEREAL_NVP(schema),
       CEREAL_NVP(payload));
  }
};

// Compute host → conductor, when the agent starts (or comes back after a
// crash) and every sync_power_state_interval: every guest its hypervisor has,
// so the conductor can compare them with what the log says about the host
// (Conductor::Reconcile). Each guest's power state has been reported before,
// as an instance.power_state_changed report.
struct GuestInventory {
  struct Guest {
    InstanceId instance_id;
    int32_t power_state = 0;  // Nova's numeric power state
    template <class A>
    void serialize(A& ar) {
      ar(CEREAL_NVP(instance_id), CEREAL_NVP(power_state));
    }
  };
  HostName host;
  std::vector<Guest> guests;
  // True when the agent (re)starts: the host may have lost work, which the
  // conductor re-sends. False for the periodic power-state sync.
  bool restart = true;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(guests), CEREAL_NVP(restart));
  }
};

// Why a GuestInventory was sent, as its power-state reports name it.
inline const char* InventoryReason(bool restart) {
  return restart ? "compute host restart" : "periodic power-state sync";
}

// Anyone → compute host: a question only the host can answer now (its guest's
// console log). Answered with a HostQueryReply on `reply_to`; never history.
// kConsole: where the guest's console of `console_kind` ("vnc", "spice",
// "serial") listens; the reply's body is a ConsoleEndpoint
// (agents/compute/hypervisor.h). The API asks it before it hands out a token,
// and a console proxy again before it relays (Nova's validate_console_port).
struct HostQuery {
  enum class Kind : uint8_t {
    kConsoleOutput = 1,
    kConsole = 2,
    kDiagnostics = 3,
    kUptime = 4,  // the host's `uptime` (os-hypervisors/{id}/uptime)
  };
  Kind kind = Kind::kConsoleOutput;
  InstanceId instance_id;
  int32_t length = -1;  // kConsoleOutput: the last `length` lines; -1 for all
  std::string reply_to;
  std::string console_kind;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(kind), CEREAL_NVP(instance_id), CEREAL_NVP(length),
       CEREAL_NVP(reply_to), CEREAL_NVP(console_kind));
  }
};

// Compute host → asker. `code` is a StatusCode; `body` the answer when it is 0.
struct HostQueryReply {
  int32_t code = 0;
  std::string message;
  std::string body;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(code), CEREAL_NVP(message), CEREAL_NVP(body));
  }
};

// Compute host → scheduler, every few seconds.
struct Heartbeat {
  HostName host;
  Timestamp time;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(host), CEREAL_NVP(time));
  }
};

// Builds a Report of `event` caused by work item `work` (or by nothing).
inline Report MakeReport(const HostName& host, const InstanceId& instance,
                         const Event& event, Seq causation, const RequestId& request_id,
                         const Actor& actor) {
  NewEvent ne = MakeNewEvent(event, EventMeta{});
  return Report{host,  instance, causation, request_id,
                actor, ne.type,  ne.schema, ne.payload};
}

}  // namespace chronova
