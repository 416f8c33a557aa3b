// core/utf8.h: what counts as UTF-8 everywhere chronova reads text.
#include "core/utf8.h"

#include <catch2/catch.hpp>
#include <string>

namespace chronova::testing {

TEST_CASE("UTF-8: well-formed text passes, and each code point decodes") {
  CHECK(IsUtf8(""));
  CHECK(IsUtf8("plain ascii"));
  CHECK(IsUtf8("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // été € 😀
  const std::string smile = "\xF0\x9F\x98\x80";
  size_t i = 0;
  char32_t cp = 0;
  REQUIRE(DecodeUtf8(smile, &i, &cp));
  CHECK(cp == 0x1F600);
  CHECK(i == 4);
}

TEST_CASE("UTF-8: overlong forms, surrogates, truncation and too-large values fail") {
  CHECK_FALSE(IsUtf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(IsUtf8("\xED\xB7\x9D"));      // U+DDDD, a lone surrogate
  CHECK_FALSE(IsUtf8("\xE2\x82"));          // truncated
  CHECK_FALSE(IsUtf8("\xF4\x90\x80\x80"));  // U+110000
  CHECK_FALSE(IsUtf8("\xFF"));
  size_t i = 0;
  char32_t cp = 0;
  CHECK_FALSE(DecodeUtf8(std::string("\xFFx"), &i, &cp));
  CHECK(i == 1);  // one byte on, so a caller can go past it
}

}  // namespace chronova::testing
