// UTF-8, strictly: the one decoder the JSON parser, the request schemas and
// the libvirt driver's XML escaping share.
#pragma once

#include <cstddef>
#include <string_view>

namespace chronova {

// Decodes one UTF-8 sequence at text[*i] into *cp and advances *i; false (and
// *i advanced by one byte) if it is malformed, overlong or a surrogate.
// REQUIRES: *i < text.size().
bool DecodeUtf8(std::string_view text, size_t* i, char32_t* cp);

// Whether all of `text` is well-formed UTF-8 (no overlong forms, no
// surrogates, nothing past U+10FFFF).
bool IsUtf8(std::string_view text);

}  // namespace chronova
