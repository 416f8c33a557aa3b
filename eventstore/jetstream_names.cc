// Builds the NATS subjects of the JetStream event log (see jetstream_names.h for
// the mapping and why it is injective).
#include "eventstore/jetstream_names.h"

#include <algorithm>

namespace chronova::jetstream_names {

namespace {

// Copies `raw`, replacing '%', every byte outside printable ASCII (0x21-0x7E) and
// every byte of `also` with %XX.
std::string PercentEscape(std::string_view raw, std::string_view also) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    auto b = static_cast<unsigned char>(c);
    bool plain =
        b > 0x20 && b < 0x7F && c != '%' && also.find(c) == std::string_view::npos;
    if (plain) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0x0F]);
    }
  }
  return out;
}

}  // namespace

std::string EscapeToken(std::string_view raw) {
  if (raw.empty()) return "%";
  return PercentEscape(raw, ".*>");
}

std::string MsgId(const IdempotencyKey& key) { return PercentEscape(key.str(), ""); }

std::string EventSubject(const StreamId& stream) {
  std::string_view s = stream.str();
  std::string subject(kEventPrefix);
  size_t slash = s.find('/');
  subject += '.';
  subject += EscapeToken(s.substr(0, slash));
  if (slash != std::string_view::npos) {
    subject += '.';
    subject += EscapeToken(s.substr(slash + 1));
  }
  return subject;
}

std::vector<std::string> ServerUrls(const std::string& list) {
  std::vector<std::string> urls;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t end = std::min(list.find(',', begin), list.size());
    std::string url = list.substr(begin, end - begin);
    url.erase(0, url.find_first_not_of(" \t"));
    url.erase(url.find_last_not_of(" \t") + 1);
    if (!url.empty()) urls.push_back(std::move(url));
    begin = end + 1;
  }
  return urls;
}

}  // namespace chronova::jetstream_names
