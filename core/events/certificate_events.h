// The events of certificate/<serial> streams (docs/events.md): x509
// certificates the cloud's CA issued (nova-cert's os-certificates). Adding
// one: a struct here with a frozen kType and kSchema, and its name in
// CertificateEvents below.
#pragma once

#include <cereal/cereal.hpp>
#include <string>

#include "core/events/event_list.h"
#include "core/types.h"

namespace chronova {

// The CA signed a certificate for `user_id` in `project_id`. The private key
// went to the caller only and is never recorded.
struct CertificateIssued {
  static constexpr const char* kType = "certificate.issued";
  static constexpr uint32_t kSchema = 1;
  std::string serial;  // hex
  UserId user_id;
  ProjectId project_id;
  std::string subject;             // "/O=<project>/CN=<user>-<time>"
  std::string sha256_fingerprint;  // of the DER certificate, hex
  Timestamp not_before;
  Timestamp not_after;
  template <class A>
  void serialize(A& ar) {
    ar(CEREAL_NVP(serial), CEREAL_NVP(user_id), CEREAL_NVP(project_id),
       CEREAL_NVP(subject), CEREAL_NVP(sha256_fingerprint), CEREAL_NVP(not_before),
       CEREAL_NVP(not_after));
  }
};

// Every event of certificate/<serial> streams.
using CertificateEvents = EventList<CertificateIssued>;

}  // namespace chronova
