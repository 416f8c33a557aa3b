// The EC2 actions on images, tags and attributes: CreateImage (a server
// snapshot), DeregisterImage, DescribeImageAttribute; CreateTags, DeleteTags,
// DescribeTags (an instance's tags are its server metadata, an image's its
// custom properties); DescribeInstanceStatus, Describe/ModifyInstanceAttribute;
// DescribeAccountAttributes.
#include <algorithm>
#include <cctype>

#include "api/ec2/ec2_api.h"
#include "api/image/image_service.h"
#include "api/service/compute_service.h"
#include "core/instance_decider.h"

namespace chronova {
namespace {

// A resource a tag call names: an instance, an image or a key pair.
struct Tagged {
  std::string id;  // its EC2 id
  std::optional<InstanceState> instance;
  std::optional<ImageRecord> image;
  std::optional<KeypairRecord> keypair;
};

Result<Tagged> FindTagged(const Ec2Handler& h, const Ec2Call& call, const std::string& id,
                          Ec2Error* error) {
  Tagged t{id, {}, {}, {}};
  if (id.starts_with("i-")) {
    CHRONOVA_ASSIGN_OR_RETURN(t.instance, FindInstance(h, call, id, error));
  } else if (id.starts_with("ami-")) {
    CHRONOVA_ASSIGN_OR_RETURN(t.image, FindImage(h, call, id, error));
  } else if (id.starts_with("key-")) {
    CHRONOVA_ASSIGN_OR_RETURN(std::vector<KeypairRecord> keys,
                              h.options().service->ListKeypairs(call.ctx, UserId()));
    for (KeypairRecord& k : keys) {
      if (KeyPairIdOf(k.keypair.user_id, k.keypair.name) == id) t.keypair = std::move(k);
    }
    if (!t.keypair) {
      *error = Ec2Error{400, "InvalidKeyPair.NotFound",
                        "The key pair '" + id + "' does not exist"};
      return Status::NotFound("no such key pair");
    }
  } else {
    *error = Ec2Error{
        400, "InvalidID",
        "The ID '" + id + "' is not valid (instances, images and key pairs have tags)"};
    return Status::InvalidArgument("bad id");
  }
  return t;
}

// Sets (value) or removes (nullopt) tag `key` of `t`.
Status ChangeTag(const Ec2Handler& h, const Ec2Call& call, const Tagged& t,
                 const std::map<std::string, std::string>& set,
                 const std::vector<std::string>& removed) {
  if (t.instance) {
    // One change (a request's key names one per server): the whole map after.
    MetadataChange change;
    change.set = MetadataAfter(t.instance->metadata, set, false, removed);
    if (change.set == t.instance->metadata) return Status::Ok();
    change.replace = true;
    return h.options()
        .service->ChangeServerMetadata(call.ctx, t.instance->id, "update_all", change)
        .status();
  }
  if (t.keypair) {
    auto after = MetadataAfter(t.keypair->tags, set, false, removed);
    if (after == t.keypair->tags) return Status::Ok();
    return h.options()
        .service->SetKeypairTags(call.ctx, t.keypair->keypair.name, after)
        .status();
  }
  if (h.options().images == nullptr) return Status::Unavailable("no image service");
  std::vector<ImagePatchOp> patch;
  for (const auto& [k, v] : set)
    patch.push_back({ImagePatchOp::Kind::kAdd, "/" + k, Json(v)});
  for (const std::string& k : removed) {
    if (t.image->image.properties.contains(k))
      patch.push_back({ImagePatchOp::Kind::kRemove, "/" + k, Json()});
  }
  if (patch.empty()) return Status::Ok();
  return h.options().images->Update(call.ctx, t.image->image.image_id, patch).status();
}

// Tag.N.Key / Tag.N.Value.
std::vector<std::pair<std::string, std::optional<std::string>>> TagParams(
    const Ec2Call& call) {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  for (size_t n = 1; n <= 50; ++n) {
    const std::string base = "Tag." + std::to_string(n);
    auto key = call.params.find(base + ".Key");
    if (key == call.params.end()) break;
    auto value = call.params.find(base + ".Value");
    out.emplace_back(key->second, value == call.params.end()
                                      ? std::nullopt
                                      : std::optional<std::string>(value->second));
  }
  return out;
}

Ec2Result CreateOrDeleteTags(const Ec2Handler& h, const Ec2Call& call, bool create) {
  std::vector<std::string> ids = ListParam(call, "ResourceId");
  if (ids.empty()) return Missing("ResourceId");
  auto tags = TagParams(call);
  if (create && tags.empty()) return Missing("Tag");
  for (const auto& [k, v] : tags) {
    if (k.empty() || k.size() > 128 || k.starts_with("aws:")) {
      return InvalidParameter(
          "Tag keys must be 1-128 characters and not begin with aws:");
    }
    if (v && v->size() > 255)
      return InvalidParameter("Tag values are at most 255 characters");
  }
  // Every resource first: a bad id changes nothing.
  std::vector<Tagged> targets;
  for (const std::string& id : ids) {
    Ec2Error error;
    Result<Tagged> t = FindTagged(h, call, id, &error);
    if (!t.ok()) return error.code.empty() ? Ec2ErrorOf(t.status()) : error;
    targets.push_back(std::move(*t));
  }
  for (const Tagged& t : targets) {
    std::map<std::string, std::string> set;
    std::vector<std::string> removed;
    const auto& have = t.instance  ? t.instance->metadata
                       : t.keypair ? t.keypair->tags
                                   : t.image->image.properties;
    for (const auto& [k, v] : tags) {
      if (create) {
        set[k] = v.value_or("");
      } else if (auto it = have.find(k); it != have.end() && (!v || *v == it->second)) {
        removed.push_back(k);  // DeleteTags with a value removes only that value
      }
    }
    Status st = ChangeTag(h, call, t, set, removed);
    if (!st.ok()) return Ec2ErrorOf(st);
  }
  return XmlLeaf("return", "true");
}

// The tags of images that are Glance's own properties, not users' tags.
bool ImageOwnProperty(const std::string& k) {
  static const char* const kOwn[] = {"image_type",     "instance_uuid", "base_image_ref",
                                     "user_id",        "owner_id",      "image_location",
                                     "instance_owner", "backup_type"};
  return std::find(std::begin(kOwn), std::end(kOwn), k) != std::end(kOwn);
}

Ec2Result DescribeTags(const Ec2Handler& h, const Ec2Call& call) {
  const auto filters = Filters(call);
  auto want = [&](const char* name, const std::string& v) {
    auto f = filters.find(name);
    return f == filters.end() || f->second.empty() ||
           std::find(f->second.begin(), f->second.end(), v) != f->second.end();
  };
  std::string out = "<tagSet>";
  auto add = [&](const std::string& id, const char* type, const std::string& k,
                 const std::string& v) {
    if (!want("resource-id", id) || !want("resource-type", type) || !want("key", k) ||
        !want("value", v)) {
      return;
    }
    out += "<item>" + XmlLeaf("resourceId", id) + XmlLeaf("resourceType", type) +
           XmlLeaf("key", k) + XmlLeaf("value", v) + "</item>";
  };
  ListServersQuery q;
  q.detail = true;
  auto servers = h.options().service->ListServers(call.ctx, q);
  if (!servers.ok()) return Ec2ErrorOf(servers.status());
  for (const InstanceState& s : *servers) {
    for (const auto& [k, v] : s.metadata) add(Ec2IdOf("i", s.id.str()), "instance", k, v);
  }
  auto keys = h.options().service->ListKeypairs(call.ctx, UserId());
  if (!keys.ok()) return Ec2ErrorOf(keys.status());
  for (const KeypairRecord& k : *keys) {
    for (const auto& [key, v] : k.tags) {
      add(KeyPairIdOf(k.keypair.user_id, k.keypair.name), "key-pair", key, v);
    }
  }
  auto images = h.options().service->ListImages(call.ctx);
  if (!images.ok()) return Ec2ErrorOf(images.status());
  for (const ImageRecord& i : *images) {
    if (i.image.owner != call.ctx.project) continue;  // one's own images' tags
    for (const auto& [k, v] : i.image.properties) {
      if (!ImageOwnProperty(k))
        add(Ec2IdOf("ami", i.image.image_id.str()), "image", k, v);
    }
  }
  return out + "</tagSet>";
}

Ec2Result CreateImage(const Ec2Handler& h, const Ec2Call& call) {
  const std::string id = Param(call, "InstanceId");
  const std::string name = Param(call, "Name");
  if (id.empty()) return Missing("InstanceId");
  if (name.empty()) return Missing("Name");
  if (name.size() < 3 || name.size() > 128) {
    return InvalidParameter("AMI names must be between 3 and 128 characters long");
  }
  Ec2Error error;
  Result<InstanceState> s = FindInstance(h, call, id, &error);
  if (!s.ok()) return error.code.empty() ? Ec2ErrorOf(s.status()) : error;
  std::map<std::string, std::string> metadata;
  if (std::string d = Param(call, "Description"); !d.empty()) metadata["description"] = d;
  Result<ImageId> image =
      h.options().service->CreateServerImage(call.ctx, s->id, name, metadata);
  if (!image.ok()) return Ec2ErrorOf(image.status());
  return XmlLeaf("imageId", Ec2IdOf("ami", image->str()));
}

Ec2Result DeregisterImage(const Ec2Handler& h, const Ec2Call& call) {
  const std::string ami = Param(call, "ImageId");
  if (ami.empty()) return Missing("ImageId");
  Ec2Error error;
  Result<ImageRecord> image = FindImage(h, call, ami, &error);
  if (!image.ok()) return error.code.empty() ? Ec2ErrorOf(image.status()) : error;
  if (h.options().images == nullptr) return Ec2ErrorOf(Status::Unavailable("no images"));
  Status st = h.options().images->Delete(call.ctx, image->image.image_id);
  if (!st.ok()) {
    if (st.code() == StatusCode::kPermissionDenied) {
      return Ec2Error{400, "AuthFailure", "Not authorized for image:" + ami};
    }
    return Ec2ErrorOf(st);
  }
  return XmlLeaf("return", "true");
}

Ec2Result DescribeImageAttribute(const Ec2Handler& h, const Ec2Call& call) {
  const std::string ami = Param(call, "ImageId");
  const std::string attribute = Param(call, "Attribute");
  if (ami.empty()) return Missing("ImageId");
  if (attribute.empty()) return Missing("Attribute");
  Ec2Error error;
  Result<ImageRecord> image = FindImage(h, call, ami, &error);
  if (!image.ok()) return error.code.empty() ? Ec2ErrorOf(image.status()) : error;
  std::string out = XmlLeaf("imageId", ami);
  if (attribute == "description") {
    auto d = image->image.properties.find("description");
    out += "<description>" +
           (d == image->image.properties.end() ? "" : XmlLeaf("value", d->second)) +
           "</description>";
  } else if (attribute == "launchPermission") {
    out += "<launchPermission>" +
           (image->image.visibility == "public"
                ? "<item>" + XmlLeaf("group", "all") + "</item>"
                : "") +
           "</launchPermission>";
  } else if (attribute == "kernel" || attribute == "ramdisk" ||
             attribute == "productCodes" || attribute == "blockDeviceMapping" ||
             attribute == "sriovNetSupport" || attribute == "bootMode") {
    out += "<" + attribute + "/>";
  } else {
    return InvalidParameter("Value (" + attribute +
                            ") for parameter attribute is invalid.");
  }
  return out;
}

Ec2Result DescribeInstanceStatus(const Ec2Handler& h, const Ec2Call& call) {
  std::vector<std::string> ids = ListParam(call, "InstanceId");
  const bool all = Param(call, "IncludeAllInstances") == "true";
  std::vector<InstanceState> servers;
  if (!ids.empty()) {
    for (const std::string& id : ids) {
      Ec2Error error;
      Result<InstanceState> s = FindInstance(h, call, id, &error);
      if (!s.ok()) return error.code.empty() ? Ec2ErrorOf(s.status()) : error;
      servers.push_back(std::move(*s));
    }
  } else {
    ListServersQuery q;
    q.detail = true;
    auto listed = h.options().service->ListServers(call.ctx, q);
    if (!listed.ok()) return Ec2ErrorOf(listed.status());
    servers = std::move(*listed);
  }
  std::string out = "<instanceStatusSet>";
  for (const InstanceState& s : servers) {
    const Ec2State st = StateOf(s);
    if (!all && st.code != 16) continue;  // running ones only, unless asked
    const bool ok = st.code == 16;
    auto status = [&](const char* tag) {
      return std::string("<") + tag + ">" +
             XmlLeaf("status", ok ? "ok" : "not-applicable") + "<details><item>" +
             XmlLeaf("name", "reachability") +
             XmlLeaf("status", ok ? "passed" : "not-applicable") + "</item></details></" +
             tag + ">";
    };
    out += "<item>" + XmlLeaf("instanceId", Ec2IdOf("i", s.id.str())) +
           XmlLeaf("availabilityZone",
                   s.availability_zone.empty() ? "nova" : s.availability_zone) +
           StateXml("instanceState", st) + status("systemStatus") +
           status("instanceStatus") + "</item>";
  }
  return out + "</instanceStatusSet>";
}

Ec2Result DescribeInstanceAttribute(const Ec2Handler& h, const Ec2Call& call) {
  const std::string id = Param(call, "InstanceId");
  const std::string attribute = Param(call, "Attribute");
  if (id.empty()) return Missing("InstanceId");
  if (attribute.empty()) return Missing("Attribute");
  Ec2Error error;
  Result<InstanceState> s = FindInstance(h, call, id, &error);
  if (!s.ok()) return error.code.empty() ? Ec2ErrorOf(s.status()) : error;
  auto value = [&](const std::string& v) {
    return "<" + attribute + ">" + XmlLeaf("value", v) + "</" + attribute + ">";
  };
  std::string out = XmlLeaf("instanceId", id);
  if (attribute == "instanceType") {
    out += value(s->flavor.name);
  } else if (attribute == "userData") {
    out += s->user_data.empty() ? "<userData/>" : value(s->user_data);
  } else if (attribute == "disableApiTermination") {
    auto flag = s->metadata.find(kDisableApiTermination);
    out += value(flag != s->metadata.end() && flag->second == "true" ? "true" : "false");
  } else if (attribute == "instanceInitiatedShutdownBehavior") {
    out += value("stop");
  } else if (attribute == "rootDeviceName") {
    out += value("/dev/vda");
  } else if (attribute == "kernel" || attribute == "ramdisk" ||
             attribute == "productCodes" || attribute == "groupSet" ||
             attribute == "blockDeviceMapping") {
    out += "<" + attribute + "/>";
  } else {
    return InvalidParameter("Value (" + attribute +
                            ") for parameter attribute is invalid.");
  }
  return out;
}

Ec2Result ModifyInstanceAttribute(const Ec2Handler& h, const Ec2Call& call) {
  const std::string id = Param(call, "InstanceId");
  if (id.empty()) return Missing("InstanceId");
  Ec2Error error;
  Result<InstanceState> s = FindInstance(h, call, id, &error);
  if (!s.ok()) return error.code.empty() ? Ec2ErrorOf(s.status()) : error;
  // Each attribute as Attribute=X&Value=Y or X.Value=Y.
  auto given = [&](const std::string& name) -> std::optional<std::string> {
    std::string wire = name;  // DisableApiTermination.Value
    wire[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(wire[0])));
    if (auto it = call.params.find(wire + ".Value"); it != call.params.end())
      return it->second;
    if (Param(call, "Attribute") == name && call.params.contains("Value"))
      return Param(call, "Value");
    return std::nullopt;
  };
  bool any = false;
  if (auto v = given("disableApiTermination")) {
    if (*v != "true" && *v != "false")
      return InvalidParameter("Value must be true or false");
    MetadataChange change;
    change.set[kDisableApiTermination] = *v;
    auto changed =
        h.options().service->ChangeServerMetadata(call.ctx, s->id, "update", change);
    if (!changed.ok()) return Ec2ErrorOf(changed.status());
    any = true;
  }
  if (auto v = given("userData")) {
    UpdateServerRequest req;
    req.user_data = *v;
    auto changed = h.options().service->UpdateServer(call.ctx, s->id, req);
    if (!changed.ok()) return Ec2ErrorOf(changed.status());
    any = true;
  }
  if (auto type = given("instanceType")) {
    // AWS's rule: only a stopped instance changes type. A resize on its host
    // (or another), confirmed by the conductor as soon as it finished.
    if (s->vm_state != VmState::kStopped || s->task_state != TaskState::kNone) {
      return Ec2Error{400, "IncorrectInstanceState",
                      "The instance '" + id + "' is not in the 'stopped' state."};
    }
    Ec2Error error;
    Result<FlavorRecord> flavor = FindInstanceType(h, call, *type, &error);
    if (!flavor.ok()) return error.code.empty() ? Ec2ErrorOf(flavor.status()) : error;
    if (flavor->spec.id != s->flavor.id) {
      Status st = h.options().service->ResizeServer(call.ctx, s->id,
                                                    flavor->spec.id.str(), std::nullopt,
                                                    /*confirm_when_finished=*/true);
      if (!st.ok()) return Ec2ErrorOf(st);
    }
    any = true;
  }
  if (!any) return Missing("Attribute");
  return XmlLeaf("return", "true");
}

Ec2Result DescribeAccountAttributes(const Ec2Handler& h, const Ec2Call& call) {
  auto limits = h.options().service->GetLimits(call.ctx, std::nullopt);
  std::string max_instances = "-1";
  if (limits.ok()) {
    if (auto it = limits->find("instances"); it != limits->end())
      max_instances = std::to_string(it->second.limit);
  }
  auto attribute = [](const std::string& name, const std::string& value) {
    return "<item>" + XmlLeaf("attributeName", name) + "<attributeValueSet><item>" +
           XmlLeaf("attributeValue", value) + "</item></attributeValueSet></item>";
  };
  return "<accountAttributeSet>" + attribute("supported-platforms", "EC2") +
         attribute("default-vpc", "none") + attribute("max-instances", max_instances) +
         "</accountAttributeSet>";
}

}  // namespace

void AddResourceActions(std::map<std::string, Ec2Handler::Action>& actions) {
  actions["CreateTags"] = [](const Ec2Handler& h, const Ec2Call& c) {
    return CreateOrDeleteTags(h, c, true);
  };
  actions["DeleteTags"] = [](const Ec2Handler& h, const Ec2Call& c) {
    return CreateOrDeleteTags(h, c, false);
  };
  actions["DescribeTags"] = DescribeTags;
  actions["CreateImage"] = CreateImage;
  actions["DeregisterImage"] = DeregisterImage;
  actions["DescribeImageAttribute"] = DescribeImageAttribute;
  actions["DescribeInstanceStatus"] = DescribeInstanceStatus;
  actions["DescribeInstanceAttribute"] = DescribeInstanceAttribute;
  actions["ModifyInstanceAttribute"] = ModifyInstanceAttribute;
  actions["DescribeAccountAttributes"] = DescribeAccountAttributes;
}

}  // namespace chronova
