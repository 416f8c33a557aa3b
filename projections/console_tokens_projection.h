// The console tokens read model (docs/api.md, "Consoles"): which console a
// token opens, by the token's SHA-256, for the console proxies and GET
// /os-console-auth-tokens/{token}. Built from instance.console_authorized; an
// instance's tokens go with its instance.deleted, instance.resize_finished and
// instance.resize_reverted, and expired tokens leave as the log's time passes
// their expiry (pruned oldest first at every later instance event), so the
// model holds only what may still be used.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/events.h"
#include "projections/projection.h"

namespace chronova {

struct ConsoleTokenRecord {
  std::string token_hash;
  InstanceId instance_id;
  std::string console_type;
  HostName compute_host;
  std::string console_host;
  int32_t port = 0;
  std::string internal_access_path;
  Timestamp issued_at;
  Timestamp expires_at;
  RequestId request_id;  // the API call that issued it
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(token_hash), CEREAL_NVP(instance_id), CEREAL_NVP(console_type),
       CEREAL_NVP(compute_host), CEREAL_NVP(console_host), CEREAL_NVP(port),
       CEREAL_NVP(internal_access_path), CEREAL_NVP(issued_at), CEREAL_NVP(expires_at),
       CEREAL_NVP(request_id));
  }
};

class ConsoleTokensProjection : public Projection {
 public:
  static constexpr std::string_view kName = "console-tokens";
  std::string_view Name() const override { return kName; }
  Status Apply(const Envelope& env, const Event& event, ReadModelWriter& w) override;
};

// Queries over the console tokens read model. Borrows the reader.
class ConsoleTokensView {
 public:
  explicit ConsoleTokensView(const ReadModelReader* reader) : reader_(reader) {}
  // The token whose SHA-256 (hex) is `token_hash`, if it exists and has not
  // expired at `now`.
  Result<std::optional<ConsoleTokenRecord>> Find(const std::string& token_hash,
                                                 Timestamp now) const;
  // The hashes of an instance's tokens still in the model (expired ones too,
  // until pruned).
  Result<std::vector<std::string>> OfInstance(const InstanceId& id) const;

 private:
  const ReadModelReader* reader_;
};

// Lower-case hex SHA-256 of a token, as it is recorded.
std::string HashConsoleToken(std::string_view token);

}  // namespace chronova
