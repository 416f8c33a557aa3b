// ComputeService's os-certificates (nova-cert): certificates the cloud's CA
// (api/service/cert_authority.h) issues, recorded as certificate.issued.
#include "api/auth/policy.h"
#include "api/service/compute_service.h"
#include "api/service/service_internal.h"
#include "core/event_codec.h"

namespace chronova {

Result<IssuedCertificate> ComputeService::CreateCertificate(const RequestContext& ctx) {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-certificates:create",
                                     PolicyTarget{ctx.project, UserId()}));
  if (options_.certificates == nullptr)
    return Status::NotFound("no certificate authority");
  CHRONOVA_ASSIGN_OR_RETURN(
      IssuedCertificate issued,
      options_.certificates->Issue(ctx.user, ctx.project, options_.env->Now()));
  CertificateIssued e{issued.serial,
                      ctx.user,
                      ctx.project,
                      issued.subject,
                      issued.sha256_fingerprint,
                      issued.not_before,
                      issued.not_after};
  AppendRequest req;
  req.stream = StreamId("certificate/" + issued.serial);
  req.expected = ExpectedVersion::NoStream();
  req.key = RequestKey(ctx, "certificate");
  req.events.push_back(MakeNewEvent(e, ctx.Meta(options_.env->Now())));
  CHRONOVA_RETURN_IF_ERROR(log_->Append(req).status());
  return issued;
}

Result<std::string> ComputeService::RootCertificate(const RequestContext& ctx) const {
  CHRONOVA_RETURN_IF_ERROR(Authorize(ctx, "os_compute_api:os-certificates:show",
                                     PolicyTarget{ctx.project, UserId()}));
  if (options_.certificates == nullptr)
    return Status::NotFound("no certificate authority");
  return options_.certificates->RootPem();
}

}  // namespace chronova
