// The events of keypair/<user> streams (docs/events.md). Adding one: a struct
// here with a frozen kType and kSchema, and its name in KeypairEvents below;
// core/events.h gathers every list into Event.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/events/event_list.h"
#include "core/types.h"

namespace chronova {

// One stream per user: a name is unique per user and the key_pairs quota is
// per user, so both are decided on this aggregate with its expected version.

// A keypair was imported or generated. Only the public half: a generated
// private key is returned once by the API and never recorded.
struct KeypairCreated {
  static constexpr const char* kType = "keypair.created";
  static constexpr uint32_t kSchema = 1;
  UserId user_id;
  std::string name;
  std::string type = "ssh";
  std::string public_key;
  std::string fingerprint;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(user_id), CEREAL_NVP(name), CEREAL_NVP(type), CEREAL_NVP(public_key),
       CEREAL_NVP(fingerprint));
  }
};

struct KeypairDeleted {
  static constexpr const char* kType = "keypair.deleted";
  static constexpr uint32_t kSchema = 1;
  std::string name;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(name));
  }
};

// The key pair's tags (EC2's CreateTags/DeleteTags on a key-... id) are now
// `tags`: the whole map after the change. Nova's own API shows none.
struct KeypairTagsSet {
  static constexpr const char* kType = "keypair.tags_set";
  static constexpr uint32_t kSchema = 1;
  std::string name;
  std::map<std::string, std::string> tags;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(name), CEREAL_NVP(tags));
  }
};

// Every event of keypair/<user> streams.
using KeypairEvents = EventList<KeypairCreated, KeypairDeleted, KeypairTagsSet>;

}  // namespace chronova
