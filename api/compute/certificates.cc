// /os-certificates (nova/api/openstack/compute/certificates.py, nova-cert):
// POST makes a certificate for the caller signed by the cloud's CA, GET
// /os-certificates/root shows the CA's certificate. Nova removed the API, with
// nova-cert, in Pike (microversions 2.43 to 2.53) without a microversion of its
// own: chronova serves it through 2.52 and answers 404 from 2.53, Pike's last.
#include "api/compute/common.h"
#include "api/compute/resource.h"

namespace chronova {
namespace {

constexpr ApiVersion kLastVersion{2, 52};

class Certificates final : public ComputeResource {
 public:
  using ComputeResource::ComputeResource;

  HttpResponse Create(const ComputeCall& call) const {
    if (call.version > kLastVersion) return NoMethodForVersion();
    Result<IssuedCertificate> issued = options_.service->CreateCertificate(call.ctx);
    if (!issued.ok()) return ErrorResponse(issued.status());
    return JsonResponse(
        200, Json::MakeObject(
                 {{"certificate",
                   Json::MakeObject({{"data", issued->certificate_pem},
                                     {"private_key", issued->private_key_pem}})}}));
  }

  HttpResponse Show(const ComputeCall& call) const {
    if (call.version > kLastVersion) return NoMethodForVersion();
    Result<std::string> root = options_.service->RootCertificate(call.ctx);
    if (!root.ok()) return ErrorResponse(root.status());
    if (call.params[0] != "root") {
      // Nova's raise_feature_not_supported.
      return FaultResponse(501, "Only root certificate can be retrieved.");
    }
    return JsonResponse(
        200, Json::MakeObject(
                 {{"certificate",
                   Json::MakeObject({{"data", *root}, {"private_key", nullptr}})}}));
  }
};

}  // namespace

void AddCertificateRoutes(ComputeRoutes* routes, const ComputeApiOptions& options) {
  auto r = std::make_shared<const Certificates>(options);
  routes->Add("POST", "os-certificates", Bind(r, &Certificates::Create));
  routes->Add("GET", "os-certificates/*", Bind(r, &Certificates::Show));
}

}  // namespace chronova
