// libFuzzer target: chronovad's INI parser (core/ini_file.h): a configuration
// file is input too: malformed lines are InvalidArgument, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/ini_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chronova;
  std::string text(reinterpret_cast<const char*>(data), size);
  Result<chronova::IniFile> ini = IniFile::Parse(text);
  if (!ini.ok()) return 0;
  for (const std::string& section : ini->Sections()) (void)ini->Get(section, "host");
  return 0;
}
