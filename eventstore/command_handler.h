// Runs one command against one aggregate the event-sourced way: load the stream,
// fold it into state, decide, append with the stream's version as the expected
// version; on Conflict (someone else appended meanwhile) load again and decide
// again. The same idempotency key is used for every attempt, so an attempt whose
// answer was lost but which was written is not written twice.
#pragma once

#include <functional>
#include <vector>

#include "core/event_codec.h"
#include "core/instance_state.h"
#include "eventstore/event_log.h"

namespace chronova {

struct CommandOutcome {
  bool appended = false;  // false: the decider chose no event
  AppendResult append;    // valid if appended
  StreamVersion version;  // the stream's version after the command
};

struct CommandOptions {
  int max_attempts = 16;  // Conflict retries before giving up with Conflict
};

// Loads `stream` and folds it with `fold(state, env, event)` starting from
// `state`, stopping before the first event past `until` (time travel: the
// aggregate as of a seq).
template <typename State, typename Fold>
Status LoadAggregate(EventLog& log, const StreamId& stream, State& state, Fold fold,
                     Seq until = Seq(UINT64_MAX)) {
  constexpr size_t kChunk = 256;
  StreamVersion from(1);
  while (true) {
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> events,
                              log.ReadStream(stream, from, kChunk));
    for (const Envelope& env : events) {
      if (env.seq > until) return Status::Ok();
      CHRONOVA_ASSIGN_OR_RETURN(Event e, DecodeEvent(env));
      fold(state, env, e);
    }
    if (events.size() < kChunk) return Status::Ok();
    from = events.back().version.next();
  }
}

// An instance folded by core's state machine from its stream, as of `until`
// (default: now). A never-requested instance comes back with exists == false.
inline Result<InstanceState> LoadInstance(EventLog& log, const InstanceId& id,
                                          Seq until = Seq(UINT64_MAX)) {
  InstanceState s;
  s.id = id;
  CHRONOVA_RETURN_IF_ERROR(LoadAggregate(
      log, InstanceStream(id), s,
      [](InstanceState& st, const Envelope& env, const Event& e) {
        ApplyEvent(st, env, e);
      },
      until));
  return s;
}

// `decide(const State&) -> Result<std::vector<Event>>`; `version(const State&)`
// gives the stream version the state was folded to. Errors from `decide` are
// returned as they are.
template <typename State, typename Fold, typename Decide, typename Version>
Result<CommandOutcome> HandleCommand(EventLog& log, const StreamId& stream,
                                     const State& initial, Fold fold, Version version,
                                     Decide decide, const EventMeta& meta,
                                     const IdempotencyKey& key,
                                     const CommandOptions& options = CommandOptions()) {
  Status last;
  for (int attempt = 0; attempt < options.max_attempts; ++attempt) {
    State state = initial;
    CHRONOVA_RETURN_IF_ERROR(LoadAggregate(log, stream, state, fold));
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Event> events, decide(state));
    CommandOutcome out;
    out.version = version(state);
    if (events.empty()) return out;
    AppendRequest req;
    req.stream = stream;
    req.expected = ExpectedVersion::Exactly(version(state));
    req.key = key;
    for (const Event& e : events) req.events.push_back(MakeNewEvent(e, meta));
    Result<AppendResult> r = log.Append(req);
    if (r.ok()) {
      out.appended = true;
      out.append = *r;
      out.version = r->last_version;
      return out;
    }
    if (!r.status().IsConflict()) return r.status();
    last = r.status();
  }
  return last;
}

}  // namespace chronova
