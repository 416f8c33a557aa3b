// chronovactl events [--stream S] [--from SEQ] [--limit N]: the log, oldest first.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>

#include "core/event_codec.h"
#include "core/event_json.h"
#include "projections/instance_actions_projection.h"
#include "projections/projection_runner.h"
#include "projections/read_models.h"
#include "projections/time_travel.h"
#include "tools/ctl/ctl.h"

namespace chronova::ctl {

int Events(Context& ctx, const Flags& flags, bool json) {
  uint64_t limit = std::stoull(flags.Get("limit", "1000000000"));
  std::vector<Envelope> events;
  if (flags.Has("stream")) {
    auto r = ReadWholeStream(*ctx.log, StreamId(flags.Get("stream")));
    if (!r.ok()) return Fail(r.status());
    events = std::move(r).value();
  } else {
    Seq from(std::stoull(flags.Get("from", "1")));
    while (events.size() < limit) {
      auto r = ctx.log->Read(from, std::min<uint64_t>(4096, limit - events.size()));
      if (!r.ok()) return Fail(r.status());
      if (r->empty()) break;
      from = r->back().seq.next();
      for (auto& e : *r) events.push_back(std::move(e));
    }
  }
  if (events.size() > limit) events.resize(limit);
  std::vector<std::vector<std::string>> rows;
  for (const Envelope& env : events) {
    Result<Event> ev = DecodeEvent(env);
    if (!ev.ok()) return Fail(ev.status());
    if (json) {
      std::cout << EnvelopeJson(env, &*ev) << "\n";
      continue;
    }
    rows.push_back(
        {std::to_string(env.seq.value()), FormatIso8601(env.meta.time),
         env.stream.str() + "@" + std::to_string(env.version.value()), env.type,
         env.meta.request_id.str(),
         env.meta.causation.value() ? std::to_string(env.meta.causation.value()) : "-",
         env.meta.actor.user.str()});
  }
  if (!json)
    PrintTable({"SEQ", "TIME", "STREAM@VERSION", "TYPE", "REQUEST", "CAUSE", "USER"},
               rows);
  return 0;
}

}  // namespace chronova::ctl
