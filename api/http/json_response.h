// A JSON body as an HttpResponse: what all three APIs answer with.
#pragma once

#include <string>
#include <utility>

#include "api/http/http_message.h"
#include "api/http/json.h"

namespace chronova {

inline constexpr char kJsonType[] = "application/json";

// `status` with `body` as application/json.
inline HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.headers.Set("Content-Type", kJsonType);
  r.body = body.Dump();
  return r;
}

// `status` with JSON text a JsonWriter wrote.
inline HttpResponse JsonTextResponse(int status, std::string text) {
  HttpResponse r;
  r.status = status;
  r.headers.Set("Content-Type", kJsonType);
  r.body = std::move(text);
  return r;
}

}  // namespace chronova
