#include "projections/revocations_projection.h"

#include "projections/records.h"

namespace chronova {
namespace {

std::string AuditKey(std::string_view audit_id) {
  return "audit/" + std::string(audit_id);
}

}  // namespace

Status RevocationsProjection::Apply(const Envelope& env, const Event& event,
                                    ReadModelWriter& w) {
  if (const auto* revoked = std::get_if<TokenRevoked>(&event)) {
    PutRecord(w, AuditKey(revoked->audit_id),
              RevocationRecord{revoked->audit_id, revoked->user_id, revoked->expires_at,
                               env.meta.time});
  }
  return Status::Ok();
}

Result<std::optional<RevocationRecord>> RevocationsView::Get(
    const std::string& audit_id) const {
  return GetRecord<RevocationRecord>(*reader_, AuditKey(audit_id));
}

}  // namespace chronova
