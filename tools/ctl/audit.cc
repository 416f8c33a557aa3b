// chronovactl audit server|request|user|project|host ID [--follow]: who did what, why.
//
// `audit server|request|user|project|host ID` reads the instance_actions read
// model's indexes for the subject's seqs, adds what the log holds beyond the read
// models' checkpoint, and renders the events as a timeline with their causation
// chain. ERROR servers end with an explanation: the chain from the request to the
// failing step and its reason. --follow keeps tailing matching events.
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

namespace {

// Which events are about the subject; owners of instances are looked up in the
// read model once and learned from instance.requested events as they pass.
class AuditMatcher {
 public:
  AuditMatcher(AuditSubject subject, const InstanceActionsView* view)
      : subject_(std::move(subject)), view_(view) {}
  bool Matches(const Envelope& env, const Event& event) {
    ProjectId owner;
    InstanceId instance = InstanceOfEvent(env, event);
    if (const auto* r = std::get_if<InstanceRequested>(&event)) {
      owners_[instance] = r->project_id;
    }
    if (!instance.empty()) owner = OwnerOf(instance);
    std::vector<AuditSubject> subjects = AuditSubjectsOf(env, event, owner);
    return std::find(subjects.begin(), subjects.end(), subject_) != subjects.end();
  }

 private:
  ProjectId OwnerOf(const InstanceId& id) {
    auto it = owners_.find(id);
    if (it != owners_.end()) return it->second;
    ProjectId owner;
    if (auto record = view_->Get(id); record.ok() && record->has_value()) {
      owner = (*record)->project_id;
    }
    owners_[id] = owner;
    return owner;
  }

  const AuditSubject subject_;
  const InstanceActionsView* view_;
  std::map<InstanceId, ProjectId> owners_;
};

// Renders timeline rows; the chain depth of each event indents its type.
class AuditTimeline {
 public:
  explicit AuditTimeline(bool json) : json_(json) {}

  void Add(const Envelope& env, const Event& event) {
    Seq cause = env.meta.causation;
    auto parent = depth_.find(cause);
    int depth = cause.value() != 0 && parent != depth_.end() ? parent->second + 1 : 0;
    depth_[env.seq] = depth;
    if (json_) {
      rows_.push_back({EnvelopeJson(env, &event)});
      return;
    }
    const Actor& a = env.meta.actor;
    std::string actor = a.user.str() + (a.project.empty() ? "" : "/" + a.project.str());
    rows_.push_back(
        {FormatIso8601(env.meta.time), std::to_string(env.seq.value()),
         env.stream.str() + "@" + std::to_string(env.version.value()),
         std::string(2 * depth, ' ') + env.type, actor.empty() ? "-" : actor,
         env.meta.request_id.empty() ? "-" : env.meta.request_id.str(),
         cause.value() ? "<- caused by seq " + std::to_string(cause.value()) : "-"});
  }

  // Prints the rows added since the last Flush; the first call prints the header
  // and sets the column widths, later ones (--follow) keep them where they fit.
  // False once stdout is gone.
  bool Flush() {
    static const std::vector<std::string> kHeader = {
        "TIME", "SEQ", "STREAM@VERSION", "TYPE", "ACTOR", "REQUEST", "CAUSE"};
    if (!json_ && widths_.empty()) {
      widths_.resize(kHeader.size());
      for (size_t c = 0; c < kHeader.size(); ++c) widths_[c] = kHeader[c].size();
      for (const auto& r : rows_) {
        for (size_t c = 0; c < r.size(); ++c)
          widths_[c] = std::max(widths_[c], r[c].size());
      }
      PrintRow(kHeader);
    }
    for (const auto& r : rows_) {
      if (json_) {
        std::cout << r[0] << "\n";
      } else {
        PrintRow(r);
      }
    }
    rows_.clear();
    std::cout.flush();
    return static_cast<bool>(std::cout);
  }

 private:
  void PrintRow(const std::vector<std::string>& r) {
    std::string out;
    for (size_t c = 0; c < r.size(); ++c) out += (c ? "  " : "") + Pad(r[c], widths_[c]);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::cout << out << "\n";
  }

  const bool json_;
  std::map<Seq, int> depth_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<size_t> widths_;
};

// For every ERROR server among `instances`: the failed action's chain, from the
// request to the failing step (following causation through the log), and why.
Status ExplainFailures(Context& ctx, const InstanceActionsView& view,
                       const std::vector<InstanceId>& instances, bool json) {
  for (const InstanceId& id : instances) {
    InstanceState state;
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> stream,
                              ReadWholeStream(*ctx.log, InstanceStream(id)));
    for (const Envelope& env : stream) {
      CHRONOVA_ASSIGN_OR_RETURN(Event event, DecodeEvent(env));
      ApplyEvent(state, env, event);
    }
    if (!state.exists || state.vm_state != VmState::kError) continue;
    CHRONOVA_ASSIGN_OR_RETURN(std::optional<InstanceActions> record, view.Get(id));
    if (!record) continue;
    for (const InstanceAction& action : record->actions) {
      auto failed = std::find_if(action.events.begin(), action.events.end(),
                                 [](const auto& e) { return e.result == kResultError; });
      if (failed == action.events.end()) continue;
      // The chain, failing event first, then each cause back to the request.
      std::vector<Envelope> chain;
      for (Seq at = failed->finish_seq; at.value() != 0 && chain.size() < 64;) {
        CHRONOVA_ASSIGN_OR_RETURN(std::vector<Envelope> one, ctx.log->Read(at, 1));
        if (one.empty() || one.front().seq != at) break;
        chain.push_back(std::move(one.front()));
        at = chain.back().meta.causation;
      }
      std::reverse(chain.begin(), chain.end());
      const std::string reason =
          failed->details.empty() ? state.fault.message : failed->details;
      if (json) {
        std::string seqs;
        for (const Envelope& e : chain) {
          seqs += (seqs.empty() ? "" : ",") + std::to_string(e.seq.value());
        }
        std::cout << "{\"explanation\":{\"server\":" << JsonQuote(id.str())
                  << ",\"status\":\"ERROR\",\"action\":" << JsonQuote(action.action)
                  << ",\"request_id\":" << JsonQuote(action.request_id.str())
                  << ",\"user\":" << JsonQuote(action.user_id.str())
                  << ",\"failed_step\":" << JsonQuote(failed->event) << ",\"host\":"
                  << (failed->host.empty() ? "null" : JsonQuote(failed->host.str()))
                  << ",\"chain\":[" << seqs << "],\"reason\":" << JsonQuote(reason)
                  << ",\"fault\":" << JsonQuote(state.fault.message) << "}}\n";
        continue;
      }
      std::cout << "\nexplanation: server " << id.str() << " is ERROR\n"
                << "  the " << action.action << " action " << action.request_id.str()
                << " of " << action.user_id.str() << "/" << action.project_id.str()
                << " failed in " << failed->event
                << (failed->host.empty() ? "" : " on " + failed->host.str()) << ":\n";
      for (size_t i = 0; i < chain.size(); ++i) {
        const Envelope& e = chain[i];
        std::cout << "  " << std::string(2 * i, ' ') << (i ? "-> " : "") << "seq "
                  << e.seq.value() << " " << e.type << " (" << FormatIso8601(e.meta.time)
                  << ")\n";
      }
      std::cout << "  reason: " << reason << "\n";
      if (state.fault.message != reason)
        std::cout << "  fault: " << state.fault.message << "\n";
    }
  }
  return Status::Ok();
}

// True once nobody reads stdout any more (the reader of a pipe closed it).
bool StdoutClosed() {
  pollfd p{STDOUT_FILENO, 0, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

// Tails the log after `from` and prints matching events until SIGINT/SIGTERM,
// stdout closing or a log error.
int FollowAudit(Context& ctx, Seq from, AuditMatcher& matcher, AuditTimeline& timeline,
                const sigset_t& stop) {
  std::mutex mu;  // protects pending
  std::vector<Envelope> pending;
  auto sub = ctx.log->Subscribe(from.next(), [&](const std::vector<Envelope>& batch) {
    std::lock_guard<std::mutex> l(mu);
    pending.insert(pending.end(), batch.begin(), batch.end());
    return Status::Ok();
  });
  const timespec tick{0, 200 * 1000 * 1000};
  while (true) {
    int sig = sigtimedwait(&stop, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) return 0;
    std::vector<Envelope> batch;
    {
      std::lock_guard<std::mutex> l(mu);
      batch.swap(pending);
    }
    for (const Envelope& env : batch) {
      Result<Event> event = DecodeEvent(env);
      if (!event.ok()) return Fail(event.status());
      if (matcher.Matches(env, *event)) timeline.Add(env, *event);
    }
    if (!timeline.Flush() || StdoutClosed()) return 0;
    if (Status st = sub->status(); !st.ok()) return Fail(st);
  }
}

}  // namespace

// Blocks SIGINT and SIGTERM for this thread and every thread started after it, so
// that --follow can wait for them (sigtimedwait) and stop cleanly.
sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout is a write error, not a kill
  return stop;
}

// audit server|request|user|project|host ID [--follow]
int AuditCommand(Context& ctx, const Flags& flags, bool json, const sigset_t* stop) {
  const std::vector<std::string>& pos = flags.positional();
  if (pos.size() != 3) {
    std::fprintf(stderr,
                 "chronovactl: audit server|request|user|project|host ID [--follow]\n");
    return 2;
  }
  Result<AuditKind> kind = ParseAuditKind(pos[1]);
  if (!kind.ok()) return Fail(kind.status());
  if (Status st = OpenReadModels(ctx); !st.ok()) return Fail(st);
  auto reader = ctx.store->Reader(InstanceActionsProjection::kName);
  if (!reader.ok()) return Fail(reader.status());
  InstanceActionsView view(reader->get());
  AuditSubject subject{*kind, pos[2]};
  AuditMatcher matcher(subject, &view);
  AuditTimeline timeline(json);
  std::vector<InstanceId> instances;
  auto note = [&](const Envelope& env, const Event& event) {
    timeline.Add(env, event);
    InstanceId id = InstanceOfEvent(env, event);
    if (!id.empty() &&
        std::find(instances.begin(), instances.end(), id) == instances.end())
      instances.push_back(id);
  };

  // What the read model has indexed, then what the log holds beyond it.
  auto seqs = view.Audit(subject);
  if (!seqs.ok()) return Fail(seqs.status());
  for (Seq seq : *seqs) {
    auto one = ctx.log->Read(seq, 1);
    if (!one.ok()) return Fail(one.status());
    if (one->empty() || one->front().seq != seq) {
      return Fail(Status::Corruption("seq " + std::to_string(seq.value()) +
                                     ": indexed by the audit but not in the log"));
    }
    Result<Event> event = DecodeEvent(one->front());
    if (!event.ok()) return Fail(event.status());
    note(one->front(), *event);
  }
  Result<Seq> head = ctx.log->Head();
  if (!head.ok()) return Fail(head.status());
  for (Seq from = ctx.store->checkpoint().next(); from <= *head;) {
    auto batch = ctx.log->Read(from, 4096);
    if (!batch.ok()) return Fail(batch.status());
    if (batch->empty()) break;
    for (const Envelope& env : *batch) {
      if (env.seq > *head) break;
      Result<Event> event = DecodeEvent(env);
      if (!event.ok()) return Fail(event.status());
      if (matcher.Matches(env, *event)) note(env, *event);
    }
    from = batch->back().seq.next();
  }
  if (!timeline.Flush()) return 1;
  if (Status st = ExplainFailures(ctx, view, instances, json); !st.ok()) return Fail(st);
  std::cout.flush();
  if (!flags.Has("follow")) return 0;
  return FollowAudit(ctx, *head, matcher, timeline, *stop);
}

}  // namespace chronova::ctl
