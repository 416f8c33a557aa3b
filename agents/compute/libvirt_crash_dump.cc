// LibvirtHypervisor::TriggerCrashDump: Nova's libvirt driver injects an NMI
// (virDomainInjectNMI), and the guest's kernel, if configured for it (kdump),
// dumps its memory.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <memory>

#include "agents/compute/libvirt_hypervisor.h"

namespace chronova {

Status LibvirtHypervisor::TriggerCrashDump(const InstanceId& id) {
  const std::string name = DomainName(id);
  std::unique_ptr<virDomain, decltype(&virDomainFree)> dom(
      virDomainLookupByName(conn_, name.c_str()), virDomainFree);
  if (dom == nullptr) return Status::NotFound("no guest " + name);
  if (virDomainInjectNMI(dom.get(), 0) == 0) return Status::Ok();
  virErrorPtr err = virGetLastError();
  const int code = err != nullptr ? err->code : VIR_ERR_INTERNAL_ERROR;
  const std::string message = err != nullptr && err->message ? err->message : "unknown";
  if (code == VIR_ERR_NO_SUPPORT || code == VIR_ERR_ARGUMENT_UNSUPPORTED) {
    return Status::Unimplemented("Triggering crash dump is not supported");
  }
  if (code == VIR_ERR_OPERATION_INVALID) {
    return Status::Conflict("Instance " + id.str() + " is not running.");
  }
  return Status::Internal("libvirt: inject NMI into " + name + ": " + message);
}

}  // namespace chronova
