// Helpers the Compute API's resources share: query parameters, Nova's
// marker/limit paging, bodies, and the metadata writes that servers and images
// answer alike.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/compute/faults.h"
#include "api/compute/resource.h"
#include "api/compute/server_schemas.h"
#include "api/http/json.h"
#include "core/status.h"

namespace chronova {

using QueryList = std::vector<std::pair<std::string, std::string>>;

// The last value of `name` in the query (webob's req.params[name]), or null.
const std::string* QueryParam(const QueryList& query, const std::string& name);
// Every value of `name` in the query, in order (webob's getall).
std::vector<std::string> QueryParams(const QueryList& query, const std::string& name);
// ?user_id= (admins, or the caller itself; the policy decides).
UserId UserParam(const QueryList& query);

// Python's int(str): optional surrounding whitespace and sign, then digits.
bool ParsePythonInt(const std::string& text, int64_t* out);
std::string Upper(std::string s);
std::string Lower(std::string s);
// Python's str.strip() of whitespace.
std::string Strip(const std::string& s);
// "http://host/v2.1/flavors/42" and "42" both name flavor "42".
std::string LastSegment(const std::string& ref);

// The body as JSON; Nova's 400 for text that is not JSON (an empty body is null).
Result<Json> ParseBody(const HttpRequest& http);
// A response with `status` and no body (202 Accepted, 204 No Content, ...).
HttpResponse EmptyResponse(int status);
// Nova's answer when a route or action has no method for the request's
// microversion (VersionNotFoundForAPIMethod): a bare 404.
HttpResponse NoMethodForVersion();

// The server view options every server answer starts from: the call's
// version, and whether the embedded flavor (2.47) shows its extra_specs.
ServerViewOptions BaseViewOptions(const ComputeCall& call);

// GET /servers/{id} and /servers/detail at the call's version: extended
// attributes for admins, and from 2.16 the host's status where the policy
// allows (each host looked up once per request).
ServerViewOptions ShowViewOptions(const ComputeCall& call,
                                  const ComputeApiOptions& options);
// The show view plus, from 2.71, the server's groups.
Result<ServerViewOptions> ShownWithGroups(const ComputeCall& call,
                                          const ComputeApiOptions& options,
                                          const InstanceId& id);
// The PUT /servers/{id} and rebuild answers: Nova's short view before 2.75
// (no extension attributes), the show view from 2.75; the groups from 2.71.
Result<ServerViewOptions> ChangedServerViewOptions(const ComputeCall& call,
                                                   const ComputeApiOptions& options,
                                                   const InstanceId& id);

// `handler` for microversions up to `last`; Nova's 404 (NoMethodForVersion) after.
ComputeHandler UpTo(ApiVersion last, ComputeHandler handler);

// From 2.75 (or `since`) a query parameter outside `allowed` is 400 (the query
// schemas' additionalProperties: false; ignored before). Nova's 400, or nullopt.
std::optional<HttpResponse> RefuseUnknownQuery(
    const ComputeCall& call, std::initializer_list<std::string_view> allowed,
    ApiVersion since = ApiVersion{2, 75});

// A list's changes-since and, from 2.66, changes-before: ISO 8601 times, the
// second no earlier than the first; Nova's 400s otherwise.
struct ChangesWindow {
  std::optional<Timestamp> since;
  std::optional<Timestamp> before;
  bool Contains(Timestamp t) const {
    return !(since && t < *since) && !(before && t > *before);
  }
};
Result<ChangesWindow> ChangesWindowOf(const ComputeCall& call);

// Nova's MarkerNotFound (400 "Marker <m> could not be found.") when the query's
// marker names none of `items` (by `id_of`), as the paged instance actions
// (2.58) and migrations (2.59) answer it; nullopt otherwise.
template <typename T, typename IdOf>
std::optional<HttpResponse> RefuseUnknownMarker(const QueryList& query,
                                                const std::vector<const T*>& items,
                                                IdOf id_of) {
  const std::string* marker = QueryParam(query, "marker");
  if (marker == nullptr) return std::nullopt;
  for (const T* item : items) {
    if (id_of(*item) == *marker) return std::nullopt;
  }
  return FaultResponse(400, "Marker " + *marker + " could not be found.");
}

// Nova's marker/limit paging over a sorted list: [begin, end) of the items
// after the one with id `marker` (all if null), at most `limit` of them.
// InvalidArgument (Nova's words) for a marker that is not in the list.
template <typename T, typename IdOf>
Result<std::pair<size_t, size_t>> Page(const std::vector<T>& items,
                                       const std::string* marker, int limit, IdOf id_of) {
  size_t begin = 0;
  if (marker != nullptr) {
    auto it = std::find_if(items.begin(), items.end(),
                           [&](const T& item) { return id_of(item) == *marker; });
    if (it == items.end())
      return Status::InvalidArgument("marker [" + *marker + "] not found");
    begin = static_cast<size_t>(it - items.begin()) + 1;
  }
  return std::make_pair(begin,
                        std::min(items.size(), begin + static_cast<size_t>(limit)));
}

// One page of `items` (filtered and ordered) as Nova's list body:
// {"<collection>": [render(item)...], "<collection>_links": [next]}.
// `path` is the collection's path for the next link ("flavors/detail");
// `links_key` names the links member if not "<collection>_links".
template <typename T, typename IdOf, typename Render>
HttpResponse PagedList(const std::string& collection, const std::string& path,
                       const LinkContext& links, const QueryList& query,
                       const std::vector<const T*>& items, int limit, IdOf id_of,
                       Render render, const std::string& links_key = "") {
  auto page = Page(items, QueryParam(query, "marker"), limit,
                   [&](const T* item) { return id_of(*item); });
  if (!page.ok()) return ErrorResponse(page.status());
  const auto [begin, end] = *page;
  Json list = Json::MakeArray();
  for (size_t i = begin; i < end; ++i) list.Append(render(*items[i]));
  Json body = Json::MakeObject({{collection, std::move(list)}});
  Json next = NextLinks(links, path, query, end - begin, static_cast<size_t>(limit),
                        end > begin ? id_of(*items[end - 1]) : "");
  if (next.size() > 0) {
    body[links_key.empty() ? collection + "_links" : links_key] = std::move(next);
  }
  return JsonResponse(200, body);
}

// How a metadata write answers (Nova's server and image metadata controllers
// alike): POST .../metadata merges and shows everything; PUT .../metadata
// replaces and shows what was given; PUT .../metadata/{key} sets one item.
enum class MetadataWrite { kMerge, kReplace, kItem };

// Parses Nova's body for `kind`, applies it with apply(change) (the metadata
// after it, or an error) and answers Nova's shape.
template <typename Apply>
HttpResponse WriteMetadata(const HttpRequest& http,
                           const std::vector<std::string>& params, MetadataWrite kind,
                           Apply apply) {
  Result<Json> body = ParseBody(http);
  if (!body.ok()) return ErrorResponse(body.status());
  const bool item = kind == MetadataWrite::kItem;
  Result<std::map<std::string, std::string>> items =
      ParseMetadataBody(*body, item ? "meta" : "metadata");
  if (!items.ok()) return ErrorResponse(items.status());
  if (item && !items->count(params[1])) {
    return FaultResponse(400, "Request body and URI mismatch");
  }
  Result<std::map<std::string, std::string>> after =
      apply(MetadataChange{*items, kind == MetadataWrite::kReplace, {}});
  if (!after.ok()) return ErrorResponse(after.status());
  const std::map<std::string, std::string>& shown =
      kind == MetadataWrite::kMerge ? *after : *items;
  return JsonResponse(
      200, Json::MakeObject({{item ? "meta" : "metadata", MetadataJson(shown)}}));
}

}  // namespace chronova
