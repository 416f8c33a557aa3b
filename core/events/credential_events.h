// The events of credential/<id> streams (docs/events.md): Identity v3
// credentials, as Keystone keeps them. An EC2 credential's id is the hex
// SHA-256 of its access key (Keystone's), so a signed EC2 request finds its
// stream from the access key alone. Adding one: a struct here with a frozen
// kType and kSchema, and its name in CredentialEvents below.
#pragma once

#include <cereal/cereal.hpp>
#include <string>

#include "core/events/event_list.h"
#include "core/types.h"

namespace chronova {

// A credential was created for `user_id` in `project_id`. The secret is
// never recorded in the clear: `sealed_secret` is it encrypted with a key only
// the API processes hold (AES-256-GCM under a key derived from the token key;
// api/identity/credential_seal.h).
struct CredentialCreated {
  static constexpr const char* kType = "credential.created";
  static constexpr uint32_t kSchema = 1;
  std::string credential_id;
  UserId user_id;
  ProjectId project_id;
  std::string type;  // "ec2"
  std::string access;
  std::string sealed_secret;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(credential_id), CEREAL_NVP(user_id), CEREAL_NVP(project_id),
       CEREAL_NVP(type), CEREAL_NVP(access), CEREAL_NVP(sealed_secret));
  }
};

// The credential was deleted: requests signed with it are refused.
struct CredentialDeleted {
  static constexpr const char* kType = "credential.deleted";
  static constexpr uint32_t kSchema = 1;
  template <class A>
  void serialize(A&) {}
};

// Every event of credential/<id> streams.
using CredentialEvents = EventList<CredentialCreated, CredentialDeleted>;

}  // namespace chronova
