// The event envelope (docs/architecture.md, "The event model"): what the log
// stores for every event. The payload is the event struct encoded with cereal's
// portable binary archive; `type` and `schema` say how to decode it
// (core/events.h).
#pragma once

#include <cereal/cereal.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"

namespace chronova {

// Who asked for the change an event records.
struct Actor {
  UserId user;
  ProjectId project;
  std::vector<std::string> roles;
  bool operator==(const Actor&) const = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(user), CEREAL_NVP(project), CEREAL_NVP(roles));
  }
};

// Why and when an event happened; set by the writer.
struct EventMeta {
  Timestamp time;
  RequestId request_id;  // "req-<uuid>" of the API call behind it
  Seq causation;         // seq of the event that triggered it; 0 for a user command
  Actor actor;
  bool operator==(const EventMeta&) const = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(time), CEREAL_NVP(request_id), CEREAL_NVP(causation),
       CEREAL_NVP(actor));
  }
};

// An event on its way into the log: the log assigns seq, stream and version.
struct NewEvent {
  std::string type;     // frozen name, e.g. "instance.requested"
  uint32_t schema = 1;  // payload schema number for this type
  EventMeta meta;
  std::string payload;  // encoded event struct
};

// An event as stored and read back.
struct Envelope {
  Seq seq;
  StreamId stream;
  StreamVersion version;
  std::string type;
  uint32_t schema = 1;
  EventMeta meta;
  std::string payload;
  bool operator==(const Envelope&) const = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(seq), CEREAL_NVP(stream), CEREAL_NVP(version), CEREAL_NVP(type),
       CEREAL_NVP(schema), CEREAL_NVP(meta), CEREAL_NVP(payload));
  }
};

// Portable binary encoding of a whole envelope, as both logs store it.
std::string EncodeEnvelope(const Envelope& e);
// Corruption (naming nothing: the caller adds the seq) if `bytes` is not an envelope.
Status DecodeEnvelope(std::string_view bytes, Envelope* out);

// Helpers for the stream names of docs/architecture.md, "The event model"; the
// one place that spells them.
StreamId InstanceStream(const InstanceId& id);
StreamId HostStream(const HostName& host);
StreamId FlavorStream(const FlavorId& id);
StreamId KeypairStream(const UserId& user);                // a user's keypairs
StreamId QuotaStream(const ProjectId& project);            // limits set for a project
StreamId QuotaClassStream(const std::string& class_name);  // "quota-class/<name>"
StreamId QuotaUsageStream(const ProjectId& project);       // admissions of new servers
StreamId ServerGroupsStream(const ProjectId& project);     // a project's server groups
// "instance" for "instance/<uuid>"; the whole name if it has no '/'.
std::string_view StreamKind(const StreamId& stream);
// "<uuid>" for "instance/<uuid>".
std::string_view StreamKey(const StreamId& stream);

}  // namespace chronova
