// UTF-8, strictly: the one decoder the JSON parser, the request schemas and
// the XML escaping (the libvirt driver's domains, the EC2 API's answers) share;
// and the one hex encoder of digests.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chronova {

// Decodes one UTF-8 sequence at text[*i] into *cp and advances *i; false (and
// *i advanced by one byte) if it is malformed, overlong or a surrogate.
// REQUIRES: *i < text.size().
bool DecodeUtf8(std::string_view text, size_t* i, char32_t* cp);

// Whether all of `text` is well-formed UTF-8 (no overlong forms, no
// surrogates, nothing past U+10FFFF).
bool IsUtf8(std::string_view text);

// Escapes `text` for XML character data and (single- or double-quoted)
// attribute values. Bytes that cannot appear in an XML document at all
// (control characters, invalid UTF-8) become '?', so odd text (a server's
// name) can never make a document that does not parse.
std::string XmlEscape(std::string_view text);

// Lowercase hex of raw bytes (digests, serial numbers), two digits a byte.
std::string LowerHex(std::string_view bytes);

}  // namespace chronova
