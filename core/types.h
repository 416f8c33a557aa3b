// Strong types for identifiers and positions, so an InstanceId can never be passed
// where a HostName is expected, nor a StreamVersion where a Seq is.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>

namespace chronova {

// A string-valued identifier distinguished by Tag.
template <typename Tag>
class StringId {
 public:
  StringId() = default;
  explicit StringId(std::string v) : v_(std::move(v)) {}
  const std::string& str() const { return v_; }
  // For decoding in place (core/codec.h): the id's own string.
  std::string& mutable_str() { return v_; }
  bool empty() const { return v_.empty(); }
  auto operator<=>(const StringId&) const = default;
  // "Minimal" serialization: a bare string in both the binary and JSON archives.
  template <class Archive>
  std::string save_minimal(const Archive&) const {
    return v_;
  }
  template <class Archive>
  void load_minimal(const Archive&, const std::string& v) {
    v_ = v;
  }

 private:
  std::string v_;
};

// An unsigned counter distinguished by Tag.
template <typename Tag>
class Counter {
 public:
  constexpr Counter() = default;
  constexpr explicit Counter(uint64_t v) : v_(v) {}
  constexpr uint64_t value() const { return v_; }
  constexpr Counter next() const { return Counter(v_ + 1); }
  auto operator<=>(const Counter&) const = default;
  template <class Archive>
  uint64_t save_minimal(const Archive&) const {
    return v_;
  }
  template <class Archive>
  void load_minimal(const Archive&, const uint64_t& v) {
    v_ = v;
  }

 private:
  uint64_t v_ = 0;
};

template <typename Tag>
std::ostream& operator<<(std::ostream& os, const StringId<Tag>& id) {
  return os << id.str();
}
template <typename Tag>
std::ostream& operator<<(std::ostream& os, const Counter<Tag>& c) {
  return os << c.value();
}

// Global position in the log, 1-based; 0 means "before the first event".
using Seq = Counter<struct SeqTag>;
// 1-based position of an event inside its stream; 0 means "the stream is empty".
using StreamVersion = Counter<struct StreamVersionTag>;

// An aggregate's stream: "instance/<uuid>", "host/<name>", "flavor/<id>" ...
using StreamId = StringId<struct StreamIdTag>;
using InstanceId = StringId<struct InstanceIdTag>;
using HostName = StringId<struct HostNameTag>;
using ProjectId = StringId<struct ProjectIdTag>;
using UserId = StringId<struct UserIdTag>;
using FlavorId = StringId<struct FlavorIdTag>;
using ImageId = StringId<struct ImageIdTag>;
// "req-<uuid>": the API request that caused an event (Nova's instance-action id).
using RequestId = StringId<struct RequestIdTag>;
// Makes an append idempotent: a retried append with the same key is written once.
using IdempotencyKey = StringId<struct IdempotencyKeyTag>;

// Microseconds since the Unix epoch, UTC.
struct Timestamp {
  int64_t micros = 0;
  auto operator<=>(const Timestamp&) const = default;
  template <class Archive>
  int64_t save_minimal(const Archive&) const {
    return micros;
  }
  template <class Archive>
  void load_minimal(const Archive&, const int64_t& v) {
    micros = v;
  }
};

// "2026-11-25T18:02:03.123456Z"
std::string FormatIso8601(Timestamp t);
// Nova's API shape: "2026-11-25T18:02:03Z".
std::string FormatIso8601Seconds(Timestamp t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+00:00]"; false if malformed.
bool ParseIso8601(const std::string& text, Timestamp* out);

}  // namespace chronova

template <typename Tag>
struct std::hash<chronova::StringId<Tag>> {
  size_t operator()(const chronova::StringId<Tag>& id) const noexcept {
    return std::hash<std::string>()(id.str());
  }
};
