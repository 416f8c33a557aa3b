#include "core/event_codec.h"

#include <unordered_map>
#include <utility>

#include "core/codec.h"

namespace chronova {
namespace {

// Decodes into *out in place when it holds a T already (its strings keep their
// memory), else into a fresh T.
template <typename T>
Status DecodeAs(const std::string& type, uint32_t schema, std::string_view payload,
                Event* out) {
  if (schema != T::kSchema) {
    return Status::Corruption("event type '" + type + "' has schema " +
                              std::to_string(schema) + ", this binary knows " +
                              std::to_string(T::kSchema));
  }
  T* value = std::get_if<T>(out);
  if (value == nullptr) value = &out->template emplace<T>();
  return DecodePortable(payload, value);
}

using Decoder = Status (*)(const std::string&, uint32_t, std::string_view, Event*);

template <size_t... I>
std::unordered_map<std::string_view, Decoder> MakeDecoders(std::index_sequence<I...>) {
  return {{std::variant_alternative_t<I, Event>::kType,
           &DecodeAs<std::variant_alternative_t<I, Event>>}...};
}

// One hash lookup per event instead of comparing the type with every alternative.
Status DecodeAlternative(const std::string& type, uint32_t schema,
                         std::string_view payload, Event* out) {
  static const std::unordered_map<std::string_view, Decoder> decoders =
      MakeDecoders(std::make_index_sequence<std::variant_size_v<Event>>());
  auto it = decoders.find(type);
  if (it == decoders.end())
    return Status::Corruption("unknown event type '" + type + "'");
  return it->second(type, schema, payload, out);
}

}  // namespace

const char* EventTypeName(const Event& e) {
  return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::kType; }, e);
}

NewEvent MakeNewEvent(const Event& event, const EventMeta& meta) {
  return std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        return NewEvent{T::kType, T::kSchema, meta, EncodePortable(v)};
      },
      event);
}

namespace {

// host.registered as stored before schema 2. Frozen: never edit.
struct HostRegisteredV1 {
  HostName host;
  int32_t vcpus = 0;
  int32_t memory_mb = 0;
  int32_t disk_gb = 0;
  std::string availability_zone;
  std::string hypervisor_type;
  double cpu_allocation_ratio = 0;
  double ram_allocation_ratio = 0;
  double disk_allocation_ratio = 0;
  template <class A>
  void serialize(A& ar) {
    ar(host, vcpus, memory_mb, disk_gb, availability_zone, hypervisor_type,
       cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio);
  }
};

Result<std::string> UpcastHostRegistered1To2(std::string_view old) {
  HostRegisteredV1 v1;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &v1));
  HostRegistered v2;
  v2.host = v1.host;
  v2.vcpus = v1.vcpus;
  v2.memory_mb = v1.memory_mb;
  v2.disk_gb = v1.disk_gb;
  v2.availability_zone = v1.availability_zone;
  v2.hypervisor_type = v1.hypervisor_type;
  v2.cpu_allocation_ratio = v1.cpu_allocation_ratio;
  v2.ram_allocation_ratio = v1.ram_allocation_ratio;
  v2.disk_allocation_ratio = v1.disk_allocation_ratio;
  v2.hypervisor_hostname = v1.host.str();  // one node per host, as Nova's libvirt driver
  return EncodePortable(v2);
}

// aggregate.created as stored before schema 2. Frozen: never edit.
struct AggregateCreatedV1 {
  int64_t aggregate_id = 0;
  std::string name;
  std::string availability_zone;
  template <class A>
  void serialize(A& ar) {
    ar(aggregate_id, name, availability_zone);
  }
};

Result<std::string> UpcastAggregateCreated1To2(std::string_view old) {
  AggregateCreatedV1 v1;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &v1));
  AggregateCreated v2{v1.aggregate_id, v1.name, v1.availability_zone,
                      DerivedAggregateUuid(v1.aggregate_id)};
  return EncodePortable(v2);
}

// instance.spawned as stored before schema 2. Frozen: never edit.
struct InstanceSpawnedV1 {
  HostName host;
  std::string hypervisor_name;
  template <class A>
  void serialize(A& ar) {
    ar(host, hypervisor_name);
  }
};

Result<std::string> UpcastInstanceSpawned1To2(std::string_view old) {
  InstanceSpawnedV1 v1;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &v1));
  InstanceSpawned v2;
  v2.host = v1.host;
  v2.hypervisor_name = v1.hypervisor_name;
  return EncodePortable(v2);  // consoles unknown: none recorded
}

// instance.updated as stored before schema 2. Frozen: never edit.
struct InstanceUpdatedV1 {
  bool has_name = false;
  std::string name;
  bool has_access_ipv4 = false;
  std::string access_ipv4;
  bool has_access_ipv6 = false;
  std::string access_ipv6;
  template <class A>
  void serialize(A& ar) {
    ar(has_name, name, has_access_ipv4, access_ipv4, has_access_ipv6, access_ipv6);
  }
};

// instance.updated as stored at schema 2. Frozen: never edit.
struct InstanceUpdatedV2 {
  bool has_name = false;
  std::string name;
  bool has_access_ipv4 = false;
  std::string access_ipv4;
  bool has_access_ipv6 = false;
  std::string access_ipv6;
  bool has_description = false;
  bool description_null = false;
  std::string description;
  template <class A>
  void serialize(A& ar) {
    ar(has_name, name, has_access_ipv4, access_ipv4, has_access_ipv6, access_ipv6,
       has_description, description_null, description);
  }
};

Result<std::string> UpcastInstanceUpdated1To2(std::string_view old) {
  InstanceUpdatedV1 v1;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &v1));
  InstanceUpdatedV2 v2;
  v2.has_name = v1.has_name;
  v2.name = v1.name;
  v2.has_access_ipv4 = v1.has_access_ipv4;
  v2.access_ipv4 = v1.access_ipv4;
  v2.has_access_ipv6 = v1.has_access_ipv6;
  v2.access_ipv6 = v1.access_ipv6;
  return EncodePortable(v2);  // the description untouched
}

Result<std::string> UpcastInstanceUpdated2To3(std::string_view old) {
  InstanceUpdatedV2 v2;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &v2));
  InstanceUpdated v3;
  v3.has_name = v2.has_name;
  v3.name = v2.name;
  v3.has_access_ipv4 = v2.has_access_ipv4;
  v3.access_ipv4 = v2.access_ipv4;
  v3.has_access_ipv6 = v2.has_access_ipv6;
  v3.access_ipv6 = v2.access_ipv6;
  v3.has_description = v2.has_description;
  v3.description_null = v2.description_null;
  v3.description = v2.description;
  return EncodePortable(v3);  // key name, user data and certificates untouched
}

// instance.requested as stored before schema 2. Frozen: never edit.
struct InstanceRequestedV1 {
  InstanceId instance_id;
  std::string name;
  ProjectId project_id;
  UserId user_id;
  FlavorSpec flavor;
  ImageId image_id;
  std::string availability_zone;
  std::string key_name;
  std::map<std::string, std::string> metadata;
  std::string user_data;
  std::string reservation_id;
  int32_t launch_index = 0;
  std::map<std::string, std::vector<std::string>> scheduler_hints;
  template <class A>
  void serialize(A& ar) {
    ar(instance_id, name, project_id, user_id, flavor, image_id, availability_zone,
       key_name, metadata, user_data, reservation_id, launch_index, scheduler_hints);
  }
};

Result<std::string> UpcastInstanceRequested1To2(std::string_view old) {
  InstanceRequestedV1 v1;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &v1));
  InstanceRequested v2;
  v2.instance_id = v1.instance_id;
  v2.name = v1.name;
  v2.project_id = v1.project_id;
  v2.user_id = v1.user_id;
  v2.flavor = v1.flavor;
  v2.image_id = v1.image_id;
  v2.availability_zone = v1.availability_zone;
  v2.key_name = v1.key_name;
  v2.metadata = v1.metadata;
  v2.user_data = v1.user_data;
  v2.reservation_id = v1.reservation_id;
  v2.launch_index = v1.launch_index;
  v2.scheduler_hints = v1.scheduler_hints;
  return EncodePortable(v2);  // no host or node asked for
}

// instance.resize_requested as stored before schema 2. Frozen: never edit.
struct InstanceResizeRequestedV1 {
  std::string migration_id;
  FlavorSpec flavor;
  HostName source_host;
  HostName dest_host;
  template <class A>
  void serialize(A& ar) {
    ar(migration_id, flavor, source_host, dest_host);
  }
};

// instance.resize_requested as stored at schema 2. Frozen: never edit.
struct InstanceResizeRequestedV2 {
  std::string migration_id;
  FlavorSpec flavor;
  HostName source_host;
  HostName dest_host;
  std::string migration_type;
  template <class A>
  void serialize(A& ar) {
    ar(migration_id, flavor, source_host, dest_host, migration_type);
  }
};

Result<std::string> UpcastInstanceResizeRequested1To2(std::string_view old) {
  InstanceResizeRequestedV1 v1;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &v1));
  return EncodePortable(InstanceResizeRequestedV2{
      v1.migration_id, v1.flavor, v1.source_host, v1.dest_host, "resize"});
}

Result<std::string> UpcastInstanceResizeRequested2To3(std::string_view old) {
  InstanceResizeRequestedV2 v2;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &v2));
  return EncodePortable(InstanceResizeRequested{v2.migration_id, v2.flavor,
                                                v2.source_host, v2.dest_host,
                                                v2.migration_type, false});
}

// instance.snapshot_requested as stored before schema 2. Frozen: never edit.
struct InstanceSnapshotRequestedV1 {
  ImageId image_id;
  std::string name;
  template <class A>
  void serialize(A& ar) {
    ar(image_id, name);
  }
};

Result<std::string> UpcastInstanceSnapshotRequested1To2(std::string_view old) {
  InstanceSnapshotRequestedV1 v1;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &v1));
  InstanceSnapshotRequested v2;
  v2.image_id = v1.image_id;
  v2.name = v1.name;
  return EncodePortable(v2);  // a snapshot, not a backup
}

// instance.locked as stored before schema 2. Frozen: never edit.
struct InstanceLockedV1 {
  bool by_admin = false;
  template <class A>
  void serialize(A& ar) {
    ar(by_admin);
  }
};

Result<std::string> UpcastInstanceLocked1To2(std::string_view old) {
  InstanceLockedV1 v1;
  CHRONOVA_RETURN_IF_ERROR(DecodePortable(old, &v1));
  return EncodePortable(InstanceLocked{v1.by_admin, ""});  // no reason given
}

}  // namespace

const UpcasterSet& UpcasterSet::Default() {
  // Every retired schema has an upcaster here and old bytes in
  // tests/fixtures/events.log (tests/core/schema_evolution_test.cc).
  static const UpcasterSet* set = [] {
    auto* s = new UpcasterSet();
    s->Add(HostRegistered::kType, 1, UpcastHostRegistered1To2);
    s->Add(AggregateCreated::kType, 1, UpcastAggregateCreated1To2);
    s->Add(InstanceSpawned::kType, 1, UpcastInstanceSpawned1To2);
    s->Add(InstanceUpdated::kType, 1, UpcastInstanceUpdated1To2);
    s->Add(InstanceUpdated::kType, 2, UpcastInstanceUpdated2To3);
    s->Add(InstanceLocked::kType, 1, UpcastInstanceLocked1To2);
    s->Add(InstanceRequested::kType, 1, UpcastInstanceRequested1To2);
    s->Add(InstanceResizeRequested::kType, 1, UpcastInstanceResizeRequested1To2);
    s->Add(InstanceResizeRequested::kType, 2, UpcastInstanceResizeRequested2To3);
    s->Add(InstanceSnapshotRequested::kType, 1, UpcastInstanceSnapshotRequested1To2);
    return s;
  }();
  return *set;
}

Status DecodeEventInto(const Envelope& env, const UpcasterSet& upcasters, Event* out) {
  uint32_t schema = env.schema;
  std::string upcast;  // the payload once upcast
  std::string_view payload = env.payload;
  // Upcast step by step to the newest schema we have an upcaster for.
  while (const Upcaster* up = upcasters.Find(env.type, schema)) {
    Result<std::string> next = (*up)(payload);
    if (!next.ok()) {
      return next.status().WithContext("seq " + std::to_string(env.seq.value()) +
                                       ": upcast " + env.type + " schema " +
                                       std::to_string(schema));
    }
    upcast = std::move(next).value();
    payload = upcast;
    ++schema;
  }
  Status decoded = DecodeAlternative(env.type, schema, payload, out);
  if (!decoded.ok()) return decoded.WithContext("seq " + std::to_string(env.seq.value()));
  return Status::Ok();
}

Result<Event> DecodeEvent(const Envelope& env, const UpcasterSet& upcasters) {
  Event event;
  CHRONOVA_RETURN_IF_ERROR(DecodeEventInto(env, upcasters, &event));
  return event;
}

}  // namespace chronova
