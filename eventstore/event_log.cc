// What every EventLog implementation shares: the validation of an append request
// (so both logs reject exactly the same requests) and the ReadWholeStream helper.
#include "eventstore/event_log.h"

#include <string>

namespace chronova {

Status ValidateAppendRequest(const AppendRequest& req) {
  if (req.stream.empty()) return Status::InvalidArgument("append: empty stream name");
  if (req.stream.str().find('\0') != std::string::npos) {
    return Status::InvalidArgument("append: stream name contains NUL");
  }
  if (req.key.empty()) {
    return Status::InvalidArgument("append: idempotency key is required");
  }
  if (req.events.empty()) return Status::InvalidArgument("append: no events");
  if (req.events.size() > kMaxEventsPerAppend) {
    return Status::InvalidArgument("append: more than " +
                                   std::to_string(kMaxEventsPerAppend) + " events");
  }
  for (const NewEvent& e : req.events) {
    if (e.type.empty()) return Status::InvalidArgument("append: event without a type");
  }
  return Status::Ok();
}

Result<std::vector<Envelope>> ReadWholeStream(EventLog& log, const StreamId& stream) {
  std::vector<Envelope> all;
  StreamVersion from(1);
  while (true) {
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> part,
                              log.ReadStream(stream, from, 1024));
    if (part.empty()) return all;
    from = part.back().version.next();
    for (auto& e : part) all.push_back(std::move(e));
  }
}

}  // namespace chronova
