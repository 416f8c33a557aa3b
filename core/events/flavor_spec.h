// The flavor an instance was booted with, as events carry it.
#pragma once

#include <cereal/cereal.hpp>
#include <map>
#include <string>

#include "core/types.h"

namespace chronova {

// The flavor an instance was booted with, copied into the event (as Nova embeds
// it in the instance) so later flavor changes do not alter history.
struct FlavorSpec {
  FlavorId id;
  std::string name;
  int32_t vcpus = 0;
  int32_t memory_mb = 0;
  int32_t root_gb = 0;
  int32_t ephemeral_gb = 0;
  int32_t swap_mb = 0;
  std::map<std::string, std::string> extra_specs;
  bool operator==(const FlavorSpec&) const = default;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(id), CEREAL_NVP(name), CEREAL_NVP(vcpus), CEREAL_NVP(memory_mb),
       CEREAL_NVP(root_gb), CEREAL_NVP(ephemeral_gb), CEREAL_NVP(swap_mb),
       CEREAL_NVP(extra_specs));
  }
};

}  // namespace chronova
