// Every NATS subject and header name the JetStream event log uses, built in one
// place (like log_keys.h for RocksDB). A StreamId maps to exactly one subject, and
// two different StreamIds never map to the same one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"

namespace chronova::jetstream_names {

// All event subjects start with this token.
inline constexpr std::string_view kEventPrefix = "ev";
// The JetStream stream's subject filter: every event subject.
inline constexpr const char* kAllEvents = "ev.>";
// Header carrying the stream version of the last event in a message.
inline constexpr const char* kVersionHeader = "Chronova-Version";
// Header carrying the append's idempotency key (MsgId's escaping): the mirror's
// fold counts one append once, whatever copies of it the stream holds.
inline constexpr const char* kKeyHeader = "Chronova-Key";

// "instance/<key>" -> "ev.instance.<escaped key>"; a StreamId without '/' maps to
// "ev.<escaped name>". Each part is escaped into a single valid NATS token: '.',
// '*', '>', '%', whitespace and every byte outside printable ASCII become %XX
// (upper-case hex); an empty part becomes the token "%" (never produced otherwise).
std::string EventSubject(const StreamId& stream);

// One part of a subject, escaped as described above.
std::string EscapeToken(std::string_view raw);

// The Nats-Msg-Id for an idempotency key: the key with '%', whitespace and every
// byte outside printable ASCII escaped as %XX, so a caller-chosen key can never
// break the header block. Injective, like EscapeToken.
std::string MsgId(const IdempotencyKey& key);

// A list of NATS server URLs as every chronova flag and INI key takes it
// ("nats://a:4222, nats://b:4222"): its non-empty, trimmed entries.
std::vector<std::string> ServerUrls(const std::string& list);

}  // namespace chronova::jetstream_names
