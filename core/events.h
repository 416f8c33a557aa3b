// Every event chronova records, one struct per event, each under a frozen type name
// and a schema number (docs/architecture.md, "The event model"); docs/events.md.
// Changing a struct's shape means a new schema number plus an upcaster
// (core/event_codec.h) for the old one; stored events are never rewritten.
//
// The events themselves live in core/events/, one header per kind of stream;
// this header gathers them.
#pragma once

#include <type_traits>
#include <variant>

#include "core/events/aggregate_events.h"
#include "core/events/certificate_events.h"
#include "core/events/credential_events.h"
#include "core/events/event_list.h"
#include "core/events/flavor_events.h"
#include "core/events/flavor_spec.h"
#include "core/events/host_events.h"
#include "core/events/image_events.h"
#include "core/events/instance_events.h"
#include "core/events/keypair_events.h"
#include "core/events/quota_events.h"
#include "core/events/server_group_events.h"
#include "core/events/token_events.h"

namespace chronova {

// Every event type. The order is irrelevant to storage (types are stored by name).
using AllEvents =
    ConcatEventLists<InstanceEvents, HostEvents, FlavorEvents, KeypairEvents, QuotaEvents,
                     ImageEvents, TokenEvents, AggregateEvents, ServerGroupEvents,
                     CredentialEvents, CertificateEvents>;
using Event = EventVariant<AllEvents>;

// True for the events of instance/<uuid> streams (those of
// core/events/instance_events.h).
template <typename T>
inline constexpr bool kIsInstanceEvent = kInEventList<T, InstanceEvents>;

// The frozen type name of an event.
const char* EventTypeName(const Event& e);

}  // namespace chronova
