// The EC2 instance actions on ComputeService: RunInstances (ClientToken
// idempotent), DescribeInstances, Terminate/Stop/Start/RebootInstances,
// GetConsoleOutput. An instance's EC2 state is derived from Nova's vm_state
// and task_state as AWS's codes (pending 0, running 16, shutting-down 32,
// terminated 48, stopping 64, stopped 80).
#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <set>

#include "api/ec2/ec2_api.h"
#include "api/service/admin_service.h"
#include "api/service/compute_service.h"
#include "api/service/keypair_crypto.h"
#include "projections/projection_store.h"
#include "projections/servers_projection.h"

namespace chronova {

Ec2State StateOf(const InstanceState& s) {
  if (s.vm_state == VmState::kDeleted) return {48, "terminated"};
  if (s.task_state == TaskState::kDeleting || s.task_state == TaskState::kSoftDeleting ||
      s.vm_state == VmState::kSoftDeleted) {
    return {32, "shutting-down"};
  }
  if (s.task_state == TaskState::kPoweringOff || s.task_state == TaskState::kShelving ||
      s.task_state == TaskState::kShelvingOffloading) {
    return {64, "stopping"};
  }
  switch (s.vm_state) {
    case VmState::kBuilding:
      return {0, "pending"};
    case VmState::kStopped:
    case VmState::kShelved:
    case VmState::kShelvedOffloaded:
    case VmState::kSuspended:
    case VmState::kError:
      return s.task_state == TaskState::kPoweringOn ||
                     s.task_state == TaskState::kUnshelving
                 ? Ec2State{0, "pending"}
                 : Ec2State{80, "stopped"};
    case VmState::kResized:  // a stopped one's type changing, until confirmed
      return s.power_state == PowerState::kShutdown ? Ec2State{80, "stopped"}
                                                    : Ec2State{16, "running"};
    default:
      return {16, "running"};
  }
}

std::string StateXml(const char* tag, Ec2State st) {
  return std::string("<") + tag + ">" + XmlLeaf("code", std::to_string(st.code)) +
         XmlLeaf("name", st.name) + "</" + tag + ">";
}

// The instance an EC2 id names, if the caller may see it.
Result<InstanceState> FindInstance(const Ec2Handler& h, const Ec2Call& call,
                                   const std::string& ec2_id, Ec2Error* error) {
  const std::string prefix = UuidPrefixOf("i", ec2_id);
  if (prefix.empty()) {
    *error =
        Ec2Error{400, "InvalidInstanceID.Malformed", "Invalid id: \"" + ec2_id + "\""};
    return Status::InvalidArgument("malformed");
  }
  auto reader = h.options().store->Reader(ServersProjection::kName);
  if (!reader.ok()) return reader.status();
  auto found = ServersView(reader->get()).FindByIdPrefix(prefix);
  if (!found.ok()) return found.status();
  if (!*found || ((*found)->project_id != call.ctx.project && !call.ctx.IsAdmin())) {
    *error = Ec2Error{400, "InvalidInstanceID.NotFound",
                      "The instance ID '" + ec2_id + "' does not exist"};
    return Status::NotFound("no such instance");
  }
  return std::move(**found);
}

namespace {

// How long a terminated instance stays visible, as on AWS (`aws ec2 wait
// instance-terminated` looks for it).
constexpr int64_t kTerminatedVisibleUs = int64_t{3600} * 1000000;

std::string InstanceXml(const InstanceState& s) {
  return XmlLeaf("instanceId", Ec2IdOf("i", s.id.str())) +
         XmlLeaf("imageId", Ec2IdOf("ami", s.image_id.str())) +
         StateXml("instanceState", StateOf(s)) + XmlLeaf("privateDnsName", "") +
         XmlLeaf("dnsName", "") + XmlLeaf("reason", "") +
         (s.key_name.empty() ? "" : XmlLeaf("keyName", s.key_name)) +
         XmlLeaf("amiLaunchIndex", std::to_string(s.launch_index)) +
         XmlLeaf("instanceType", s.flavor.name) +
         XmlLeaf("launchTime",
                 Ec2Time(s.launched_at.micros ? s.launched_at : s.created_at)) +
         "<placement>" +
         // A server asked for no zone is in Nova's default one.
         XmlLeaf("availabilityZone",
                 s.availability_zone.empty() ? "nova" : s.availability_zone) +
         XmlLeaf("tenancy", "default") + "</placement>" + "<monitoring>" +
         XmlLeaf("state", "disabled") + "</monitoring>" +
         XmlLeaf("architecture", "x86_64") + XmlLeaf("rootDeviceType", "instance-store") +
         XmlLeaf("virtualizationType", "hvm") + XmlLeaf("hypervisor", "xen") +
         TagSetXml(s.metadata);
}

// <reservationSet> of `servers`, grouped by reservation in first-seen order.
std::string ReservationsXml(const std::vector<InstanceState>& servers) {
  std::vector<std::string> order;
  std::map<std::string, std::string> items;
  std::map<std::string, std::string> owners;
  for (const InstanceState& s : servers) {
    if (!items.contains(s.reservation_id)) order.push_back(s.reservation_id);
    items[s.reservation_id] += "<item>" + InstanceXml(s) + "</item>";
    owners[s.reservation_id] = s.project_id.str();
  }
  std::string out = "<reservationSet>";
  for (const std::string& r : order) {
    out += "<item>" + XmlLeaf("reservationId", r) + XmlLeaf("ownerId", owners[r]) +
           "<groupSet/><instancesSet>" + items[r] + "</instancesSet></item>";
  }
  return out + "</reservationSet>";
}

bool Matches(const InstanceState& s,
             const std::map<std::string, std::vector<std::string>>& f) {
  auto any = [](const std::vector<std::string>& values, const std::string& v) {
    return std::find(values.begin(), values.end(), v) == values.end() ? false : true;
  };
  for (const auto& [name, values] : f) {
    if (values.empty()) continue;
    if (name == "instance-id") {
      if (!any(values, Ec2IdOf("i", s.id.str()))) return false;
    } else if (name == "instance-state-name") {
      if (!any(values, StateOf(s).name)) return false;
    } else if (name == "instance-state-code") {
      if (!any(values, std::to_string(StateOf(s).code))) return false;
    } else if (name == "instance-type") {
      if (!any(values, s.flavor.name)) return false;
    } else if (name == "availability-zone") {
      if (!any(values, s.availability_zone.empty() ? "nova" : s.availability_zone))
        return false;
    } else if (name == "key-name") {
      if (!any(values, s.key_name)) return false;
    } else if (name == "image-id") {
      if (!any(values, Ec2IdOf("ami", s.image_id.str()))) return false;
    } else if (name == "reservation-id") {
      if (!any(values, s.reservation_id)) return false;
    } else if (name.starts_with("tag:")) {
      auto tag = s.metadata.find(name.substr(4));
      if (tag == s.metadata.end() || !any(values, tag->second)) return false;
    } else if (name == "tag-key") {
      if (std::none_of(values.begin(), values.end(),
                       [&](const std::string& k) { return s.metadata.contains(k); })) {
        return false;
      }
    }
  }
  return true;
}

// The instances the caller sees, in DescribeInstances' order: the live ones
// newest first (the servers read model's index, a page at a time), then those
// terminated within the hour. Calls visit(server, live) from the one after
// `after` (nullptr: the first; `after_live`: which part it was in) until it
// returns false: a page reads about its page.
Status VisitVisible(const Ec2Handler& h, const Ec2Call& call, const InstanceState* after,
                    bool after_live,
                    const std::function<bool(InstanceState&&, bool live)>& visit) {
  constexpr int kBatch = 200;
  if (after_live) {
    ListServersQuery q;
    q.detail = true;
    q.limit = kBatch;
    if (after != nullptr) q.marker = after->id.str();
    q.marker_may_be_deleted = true;  // deleted since the page before
    for (;;) {
      CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceState> page,
                                h.options().service->ListServers(call.ctx, q));
      for (InstanceState& s : page) {
        if (!visit(std::move(s), true)) return Status::Ok();
      }
      if (page.size() < static_cast<size_t>(kBatch)) break;
      q.marker = page.back().id.str();
    }
  }
  // ... and those terminated within the hour (changes-since shows them).
  ListServersQuery recent;
  recent.detail = true;
  recent.limit = std::numeric_limits<int>::max();  // an hour's deletes
  recent.changes_since = Timestamp{h.options().env->Now().micros - kTerminatedVisibleUs};
  CHRONOVA_ASSIGN_OR_RETURN(std::vector<InstanceState> changed,
                            h.options().service->ListServers(call.ctx, recent));
  bool skipping = !after_live;
  for (InstanceState& s : changed) {
    if (s.vm_state != VmState::kDeleted) continue;
    if (skipping) {
      skipping = s.id != after->id;
      continue;
    }
    if (!visit(std::move(s), false)) break;
  }
  // The token's instance left the hour's window since its page: say so
  // rather than end the listing short.
  if (skipping) return Status::InvalidArgument("Invalid NextToken");
  return Status::Ok();
}

Ec2Result DescribeInstances(const Ec2Handler& h, const Ec2Call& call) {
  const auto filters = Filters(call);
  std::vector<std::string> ids = ListParam(call, "InstanceId");
  auto max = call.params.find("MaxResults");
  auto token = call.params.find("NextToken");
  const bool paged = max != call.params.end() || token != call.params.end();
  if (!ids.empty()) {
    if (paged) {
      return InvalidParameter(
          "The parameter instancesSet cannot be used with the parameter maxResults");
    }
    std::vector<InstanceState> servers;
    for (const std::string& id : ids) {
      Ec2Error error;
      Result<InstanceState> s = FindInstance(h, call, id, &error);
      if (!s.ok()) {
        if (!error.code.empty()) return error;
        return Ec2ErrorOf(s.status());
      }
      // A terminated instance stays visible for an hour, as on AWS.
      if (s->vm_state == VmState::kDeleted &&
          h.options().env->Now().micros - s->updated_at.micros > kTerminatedVisibleUs) {
        return Ec2Error{400, "InvalidInstanceID.NotFound",
                        "The instance ID '" + id + "' does not exist"};
      }
      if (Matches(*s, filters)) servers.push_back(std::move(*s));
    }
    return ReservationsXml(servers);
  }
  // Paging (MaxResults 5..1000, NextToken): the token is the last instance's
  // EC2 id ("terminated:" before it in the part after the live ones); the
  // next page starts after it. Without either, every instance.
  size_t limit = std::numeric_limits<size_t>::max();
  if (paged) limit = 1000;
  if (max != call.params.end()) {
    const std::string& v = max->second;
    if (v.empty() || v.size() > 4 || !std::all_of(v.begin(), v.end(), ::isdigit) ||
        std::stoi(v) < 5 || std::stoi(v) > 1000) {
      return InvalidParameter("MaxResults must be between 5 and 1000");
    }
    limit = static_cast<size_t>(std::stoi(v));
  }
  constexpr std::string_view kTerminated = "terminated:";
  std::optional<InstanceState> after;
  bool after_live = true;
  if (token != call.params.end() && !token->second.empty()) {
    std::string_view id = token->second;
    if (id.starts_with(kTerminated)) {
      after_live = false;
      id.remove_prefix(kTerminated.size());
    }
    Ec2Error error;
    Result<InstanceState> s = FindInstance(h, call, std::string(id), &error);
    if (!s.ok()) return InvalidParameter("Invalid NextToken");
    after = std::move(*s);
  }
  std::vector<InstanceState> page;
  bool more = false, last_live = true;
  Status st = VisitVisible(h, call, after ? &*after : nullptr, after_live,
                           [&](InstanceState&& s, bool live) {
                             if (!Matches(s, filters)) return true;
                             if (page.size() == limit) {
                               more = true;  // one past the page: there is a next one
                               return false;
                             }
                             page.push_back(std::move(s));
                             last_live = live;
                             return true;
                           });
  if (st.code() == StatusCode::kInvalidArgument) return InvalidParameter(st.message());
  if (!st.ok()) return Ec2ErrorOf(st);
  std::string out = ReservationsXml(page);
  if (more) {
    out += XmlLeaf("nextToken", std::string(last_live ? "" : kTerminated) +
                                    Ec2IdOf("i", page.back().id.str()));
  }
  return out;
}

Ec2Result RunInstances(const Ec2Handler& h, const Ec2Call& call) {
  auto param = [&](const std::string& name) { return Param(call, name); };
  for (const char* required : {"ImageId", "MinCount", "MaxCount"}) {
    if (!call.params.contains(required)) return Missing(required);
  }
  CreateServerRequest req;
  auto count = [&](const char* name, int* out) -> bool {
    const std::string v = param(name);
    if (v.empty() || v.size() > 6 || !std::all_of(v.begin(), v.end(), ::isdigit))
      return false;
    *out = std::stoi(v);
    return *out >= 1;
  };
  if (!count("MinCount", &req.min_count) || !count("MaxCount", &req.max_count) ||
      req.min_count > req.max_count) {
    return InvalidParameter(
        "MinCount and MaxCount must be integers, 1 <= MinCount <= "
        "MaxCount");
  }
  // The image and instance type, by their EC2 names.
  Ec2Error error;
  Result<ImageRecord> image = FindImage(h, call, param("ImageId"), &error);
  if (!image.ok()) return error.code.empty() ? Ec2ErrorOf(image.status()) : error;
  req.image_ref = image->image.image_id.str();
  const std::string type =
      param("InstanceType").empty() ? "m1.small" : param("InstanceType");
  Result<FlavorRecord> flavor = FindInstanceType(h, call, type, &error);
  if (!flavor.ok()) return error.code.empty() ? Ec2ErrorOf(flavor.status()) : error;
  req.flavor_ref = flavor->spec.id.str();
  req.key_name = param("KeyName");
  req.user_data = param("UserData");  // base64, as Nova's user_data
  req.availability_zone = param("Placement.AvailabilityZone");
  // TagSpecification.N.Tag.M.{Key,Value} for instances: the server's metadata.
  for (size_t n = 1; n <= 50; ++n) {
    const std::string spec = "TagSpecification." + std::to_string(n);
    if (!call.params.contains(spec + ".ResourceType")) break;
    if (param(spec + ".ResourceType") != "instance") continue;
    for (size_t m = 1; m <= 50; ++m) {
      const std::string tag = spec + ".Tag." + std::to_string(m);
      if (!call.params.contains(tag + ".Key")) break;
      req.metadata[param(tag + ".Key")] = param(tag + ".Value");
    }
  }
  auto name = req.metadata.find("Name");
  req.name =
      name != req.metadata.end() && !name->second.empty() ? name->second : "ec2-instance";
  const std::string token = param("ClientToken");
  if (token.size() > 64) return InvalidParameter("ClientToken is at most 64 characters");
  if (!token.empty())
    req.id_seed = "ec2-client-token/" + call.ctx.project.str() + "/" + token;

  // A retried request (same ClientToken) finds its servers: the same ids.
  auto existing = [&]() -> Result<std::vector<InstanceState>> {
    if (req.id_seed.empty()) return std::vector<InstanceState>{};
    ListServersQuery q;
    q.detail = true;
    q.reservation_id = "r-" + NameBasedUuid(req.id_seed + "/reservation").substr(0, 8);
    return h.options().service->ListServers(call.ctx, q);
  };
  Result<std::vector<InstanceState>> servers = existing();
  if (!servers.ok()) return Ec2ErrorOf(servers.status());
  if (servers->empty()) {
    Result<CreateServerResult> created =
        h.options().service->CreateServers(call.ctx, req);
    if (created.ok()) {
      servers = std::move(created->servers);
    } else if (created.status().IsConflict() && !req.id_seed.empty()) {
      servers = existing();  // a concurrent retry created them first
      if (!servers.ok()) return Ec2ErrorOf(servers.status());
    } else {
      const Status& st = created.status();
      if (st.code() == StatusCode::kInvalidArgument &&
          st.message().find("key") != std::string::npos) {
        return Ec2Error{400, "InvalidKeyPair.NotFound",
                        "The key pair '" + req.key_name + "' does not exist"};
      }
      return Ec2ErrorOf(st);
    }
  }
  if (servers->empty()) return Ec2Error{500, "InternalError", "no instance was created"};
  std::sort(servers->begin(), servers->end(),
            [](const InstanceState& a, const InstanceState& b) {
              return a.launch_index < b.launch_index;
            });
  std::string items;
  for (const InstanceState& s : *servers) items += "<item>" + InstanceXml(s) + "</item>";
  return XmlLeaf("reservationId", servers->front().reservation_id) +
         XmlLeaf("ownerId", call.ctx.project.str()) + "<groupSet/><instancesSet>" +
         items + "</instancesSet>";
}

// Terminate, Stop, Start: each instance's state before and after the request.
Ec2Result ChangeInstances(const Ec2Handler& h, const Ec2Call& call,
                          const std::function<Status(const InstanceState&)>& change) {
  std::vector<std::string> ids = ListParam(call, "InstanceId");
  if (ids.empty()) {
    return Missing("InstanceId");
  }
  std::vector<InstanceState> before;
  for (const std::string& id : ids) {
    Ec2Error error;
    Result<InstanceState> s = FindInstance(h, call, id, &error);
    if (!s.ok()) return error.code.empty() ? Ec2ErrorOf(s.status()) : error;
    before.push_back(std::move(*s));
  }
  // AWS's termination protection: nothing happens if one is protected.
  if (call.action == "TerminateInstances") {
    for (const InstanceState& s : before) {
      auto flag = s.metadata.find(kDisableApiTermination);
      if (flag != s.metadata.end() && flag->second == "true") {
        return Ec2Error{400, "OperationNotPermitted",
                        "The instance '" + Ec2IdOf("i", s.id.str()) +
                            "' may not be terminated. Modify its 'disableApiTermination' "
                            "instance attribute and try again."};
      }
    }
  }
  std::string items;
  for (const InstanceState& s : before) {
    Status st = s.vm_state == VmState::kDeleted ? Status::Ok() : change(s);
    if (!st.ok() && !(st.IsNotFound() && s.vm_state == VmState::kDeleted)) {
      return Ec2ErrorOf(st);
    }
    Ec2Error ignored;
    Result<InstanceState> now = FindInstance(h, call, Ec2IdOf("i", s.id.str()), &ignored);
    items += "<item>" + XmlLeaf("instanceId", Ec2IdOf("i", s.id.str())) +
             StateXml("currentState", StateOf(now.ok() ? *now : s)) +
             StateXml("previousState", StateOf(s)) + "</item>";
  }
  return "<instancesSet>" + items + "</instancesSet>";
}

Ec2Result GetConsoleOutput(const Ec2Handler& h, const Ec2Call& call) {
  auto id = call.params.find("InstanceId");
  if (id == call.params.end()) {
    return Missing("InstanceId");
  }
  Ec2Error error;
  Result<InstanceState> s = FindInstance(h, call, id->second, &error);
  if (!s.ok()) return error.code.empty() ? Ec2ErrorOf(s.status()) : error;
  Result<std::string> log = h.options().service->ConsoleOutput(call.ctx, s->id, -1);
  // An instance with no console yet has an empty one, as on AWS.
  std::string text = log.ok() ? *log : "";
  if (!log.ok() && !log.status().IsNotFound() && !log.status().IsConflict()) {
    return Ec2ErrorOf(log.status());
  }
  return XmlLeaf("instanceId", id->second) +
         XmlLeaf("timestamp", Ec2Time(h.options().env->Now())) +
         XmlLeaf("output", Base64Encode(text));
}

}  // namespace

void AddInstanceActions(std::map<std::string, Ec2Handler::Action>& actions) {
  actions["DescribeInstances"] = DescribeInstances;
  actions["RunInstances"] = RunInstances;
  actions["TerminateInstances"] = [](const Ec2Handler& h, const Ec2Call& call) {
    return ChangeInstances(h, call, [&](const InstanceState& s) {
      return h.options().service->DeleteServer(call.ctx, s.id);
    });
  };
  actions["StopInstances"] = [](const Ec2Handler& h, const Ec2Call& call) {
    return ChangeInstances(h, call, [&](const InstanceState& s) {
      return h.options().service->ServerAction(call.ctx, s.id, LifecycleAction::kStop,
                                               false);
    });
  };
  actions["StartInstances"] = [](const Ec2Handler& h, const Ec2Call& call) {
    return ChangeInstances(h, call, [&](const InstanceState& s) {
      return h.options().service->ServerAction(call.ctx, s.id, LifecycleAction::kStart,
                                               false);
    });
  };
  actions["RebootInstances"] = [](const Ec2Handler& h, const Ec2Call& call) -> Ec2Result {
    Ec2Result r = ChangeInstances(h, call, [&](const InstanceState& s) {
      return h.options().service->ServerAction(call.ctx, s.id, LifecycleAction::kReboot,
                                               false);
    });
    if (std::holds_alternative<Ec2Error>(r)) return r;
    return XmlLeaf("return", "true");
  };
  actions["GetConsoleOutput"] = GetConsoleOutput;
}

}  // namespace chronova
