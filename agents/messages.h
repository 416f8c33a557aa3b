// The messages agents exchange over the Bus, encoded with cereal's portable binary
// archive. Unlike events they are not history: they may be lost and re-sent.
#pragma once

#include <cereal/cereal.hpp>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/event_codec.h"
#include "core/events.h"

namespace chronova {

// Conductor → compute host.
struct WorkItem {
  // kReap: destroy a guest the log does not place on this host (its instance
  // was deleted, or lives elsewhere); nothing is reported. kSyncPowerState:
  // report the guest's power state now, with `action` as the reason.
  enum class Kind : uint8_t {
    kBuild = 1,
    kDelete = 2,
    kAction = 3,
    kRebuild = 4,
    kSnapshot = 5,
    kReap = 6,
    kSyncPowerState = 7,
    kResize = 8,         // to the destination: run the guest with `flavor`
    kResizeConfirm = 9,  // to the source of a resize to another host: drop the guest
    kResizeRevert = 10,  // to the destination: back to `flavor` (the old one)
  };
  Kind kind = Kind::kBuild;
  InstanceId instance_id;
  Seq causation;  // the event that asked for this work
  RequestId request_id;
  Actor actor;
  std::string name;
  FlavorSpec flavor;
  ImageId image_id;
  // kAction: the lifecycle action (LifecycleActionName) and a reboot's type.
  std::string action;
  bool hard = false;
  // kRebuild: the instance was stopped, so the rebuilt guest stays shut off.
  bool keep_stopped = false;
  // kAction "rescue": the image the rescue guest boots from.
  ImageId rescue_image_id;
  // kSnapshot: the queued image the snapshot is uploaded into.
  ImageId snapshot_image_id;
  // kResize/kResizeConfirm/kResizeRevert: the resize's source host.
  // keep_stopped: the server was stopped.
  HostName source_host;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(kind), CEREAL_NVP(instance_id), CEREAL_NVP(causation),
       CEREAL_NVP(request_id), CEREAL_NVP(actor), CEREAL_NVP(name), CEREAL_NVP(flavor),
       CEREAL_NVP(image_id), CEREAL_NVP(action), CEREAL_NVP(hard),
       CEREAL_NVP(keep_stopped), CEREAL_NVP(snapshot_image_id),
       CEREAL_NVP(rescue_image_id), CEREAL_NVP(source_host));
  }
};

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
struct HostQuery {
  enum class Kind : uint8_t { kConsoleOutput = 1 };
  Kind kind = Kind::kConsoleOutput;
  InstanceId instance_id;
  int32_t length = -1;  // kConsoleOutput: the last `length` lines; -1 for all
  std::string reply_to;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(kind), CEREAL_NVP(instance_id), CEREAL_NVP(length),
       CEREAL_NVP(reply_to));
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
