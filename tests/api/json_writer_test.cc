// JsonWriter writes the text a Json tree would dump, without the tree.
#include "api/http/json_writer.h"

#include <catch2/catch.hpp>
#include <string>

#include "api/http/json.h"

namespace chronova {
namespace {

TEST_CASE("JsonWriter: separators, nesting and values as Json::Dump writes them") {
  std::string out;
  JsonWriter w(out);
  w.BeginObject();
  w.Field("s", "a\"b\n").Field("i", -42).Field("t", true).Field("f", false);
  w.Key("n").Null();
  w.Key("e").StringOrNull("");
  w.Key("x").StringOrNull("y");
  w.Key("empty_object").BeginObject().EndObject();
  w.Key("empty_array").BeginArray().EndArray();
  w.Key("list").BeginArray().Int(1).String("two").BeginObject().Field("k", "v");
  w.EndObject().BeginArray().EndArray().Null().EndArray();
  w.Field("tree", Json::MakeObject({{"a", Json::MakeArray({1, "b"})}}));
  w.EndObject();

  CHECK(out == R"({"s":"a\"b\n","i":-42,"t":true,"f":false,"n":null,"e":null,"x":"y",)"
               R"("empty_object":{},"empty_array":[],"list":[1,"two",{"k":"v"},[],null],)"
               R"("tree":{"a":[1,"b"]}})");
  Result<Json> parsed = Json::Parse(out);
  REQUIRE(parsed.ok());
  CHECK(parsed->Dump() == out);
}

TEST_CASE(
    "JsonWriter: bytes that are not UTF-8 are written as U+FFFD, so the text parses") {
  std::string out;
  JsonWriter(out)
      .BeginObject()
      .Field("k\xff",
             "a\xff"
             "b\xc3\xa9")
      .EndObject();
  CHECK(out ==
        "{\"k\xEF\xBF\xBD\":\"a\xEF\xBF\xBD"
        "b\xc3\xa9\"}");
  CHECK(Json::Parse(out).ok());
}

TEST_CASE("JsonWriter: top-level arrays and scalars") {
  std::string out;
  JsonWriter(out).BeginArray().Int(1).Int(2).EndArray();
  CHECK(out == "[1,2]");
  out.clear();
  JsonWriter(out).String("x");
  CHECK(out == R"("x")");
}

TEST_CASE("Json: a braced list's values are moved into the tree, not copied") {
  std::string big(1000, 'x');
  Json inner = Json::MakeObject({{"k", big}});
  const char* before = inner.Find("k")->as_string().data();
  Json outer = Json::MakeObject({{"inner", std::move(inner)}});
  CHECK(outer.Find("inner")->Find("k")->as_string().data() == before);
  Json list = Json::MakeArray({std::move(outer), "two", 3});
  CHECK(list.items()[0].Find("inner")->Find("k")->as_string().data() == before);
  CHECK(list.Dump().size() > 1000);
}

}  // namespace
}  // namespace chronova
