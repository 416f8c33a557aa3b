#include "core/envelope.h"

#include <sstream>

#include "core/codec.h"

namespace chronova {

std::string EncodeEnvelope(const Envelope& e) { return EncodePortable(e); }

Status DecodeEnvelope(std::string_view bytes, Envelope* out) {
  return DecodePortable(bytes, out).WithContext("envelope");
}

StreamId InstanceStream(const InstanceId& id) { return StreamId("instance/" + id.str()); }
StreamId HostStream(const HostName& host) { return StreamId("host/" + host.str()); }
StreamId FlavorStream(const FlavorId& id) { return StreamId("flavor/" + id.str()); }
StreamId KeypairStream(const UserId& user) { return StreamId("keypair/" + user.str()); }
StreamId QuotaStream(const ProjectId& project) {
  return StreamId("quota/" + project.str());
}
StreamId QuotaClassStream(const std::string& class_name) {
  return StreamId("quota-class/" + class_name);
}
StreamId QuotaUsageStream(const ProjectId& project) {
  return StreamId("quota-usage/" + project.str());
}
StreamId ServerGroupsStream(const ProjectId& project) {
  return StreamId("server-groups/" + project.str());
}

std::string_view StreamKind(const StreamId& stream) {
  std::string_view s = stream.str();
  return s.substr(0, s.find('/'));
}

std::string_view StreamKey(const StreamId& stream) {
  std::string_view s = stream.str();
  size_t slash = s.find('/');
  return slash == std::string_view::npos ? std::string_view() : s.substr(slash + 1);
}

}  // namespace chronova
