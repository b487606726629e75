#include "provider/http/paging.h"

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/http/url.h"

namespace arnica::http {
namespace {

using nlohmann::json;

using url::Part;

struct Origin {
  std::string scheme, host, port;
  bool operator==(const Origin&) const = default;
};

Origin OriginOf(CURLU* url) {
  return Origin{absl::AsciiStrToLower(Part(url, CURLUPART_SCHEME).value_or("")),
                absl::AsciiStrToLower(Part(url, CURLUPART_HOST).value_or("")),
                Part(url, CURLUPART_PORT, CURLU_DEFAULT_PORT).value_or("")};
}

// The path of a URL, for messages: never its query, which may hold secrets.
std::string PathOf(const std::string& text) {
  url::Handle url = url::Parse(text);
  if (!url) return "(unparsable URL)";
  return Part(url.get(), CURLUPART_PATH).value_or("/");
}

// A full URL in one canonical spelling, to recognise a page already visited.
std::string Canonical(const std::string& text) {
  url::Handle url = url::Parse(text);
  if (!url) return text;
  return Part(url.get(), CURLUPART_URL).value_or(text);
}

absl::Status PageError(const Response& response, int page, const std::string& path,
                       const PageShape& shape = {}) {
  absl::Status status =
      shape.error ? shape.error(response) : ToStatus(ParseBitbucketError(response));
  return Prefixed(status, absl::StrCat("reading page ", page, " of ", path, ": "));
}

absl::Status Malformed(int page, const std::string& path, const std::string& what) {
  return absl::FailedPreconditionError(absl::StrCat(
      "reading page ", page, " of ", path, ": ", what,
      "; the list was not read, rather than read incompletely. Run again, and report it if it "
      "persists."));
}

}  // namespace

absl::StatusOr<std::string> ResolveSameOrigin(const std::string& base, const std::string& next) {
  url::Handle url(curl_url());
  if (!url) return absl::ResourceExhaustedError("out of memory parsing a URL");
  if (curl_url_set(url.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("the first page's URL is not a valid absolute URL");
  }
  Origin origin = OriginOf(url.get());
  // Setting a URL on a handle that holds one resolves it relative to the old one.
  if (curl_url_set(url.get(), CURLUPART_URL, next.c_str(), 0) != CURLUE_OK) {
    return absl::FailedPreconditionError("the next-page link is not a valid URL");
  }
  if (Part(url.get(), CURLUPART_USER) || Part(url.get(), CURLUPART_PASSWORD)) {
    return absl::FailedPreconditionError("the next-page link carries user-info; not followed");
  }
  Origin target = OriginOf(url.get());
  if (!(target == origin)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the next-page link points to ", target.scheme, "://", target.host, ":",
                     target.port, ", not to ", origin.scheme, "://", origin.host, ":", origin.port,
                     "; not followed, since the credential would go with it"));
  }
  std::optional<std::string> resolved = Part(url.get(), CURLUPART_URL);
  if (!resolved) return absl::FailedPreconditionError("the next-page link is not a valid URL");
  return *resolved;
}

absl::StatusOr<std::vector<json>> FetchAllPages(Client& client, Request first, std::stop_token stop,
                                                int max_pages, const PageShape& shape) {
  const std::string path = PathOf(first.url);
  const std::string base = first.url;
  std::vector<json> items;
  std::set<std::string> visited{Canonical(first.url)};
  Request request = std::move(first);
  for (int page = 1;; ++page) {
    if (page > max_pages) {
      return absl::FailedPreconditionError(
          absl::StrCat("reading ", path, ": the list has more than ", max_pages,
                       " pages; stopped rather than return part of it"));
    }
    if (stop.stop_requested()) return absl::CancelledError(absl::StrCat("reading ", path));
    absl::StatusOr<Response> response = client.Do(request, stop);
    if (!response.ok()) return response.status();
    if (response->status < 200 || response->status > 299) {
      return PageError(*response, page, path, shape);
    }
    json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return Malformed(page, path, "the response is not JSON");
    if (!body.is_object()) return Malformed(page, path, "the response is not a JSON object");
    auto values = body.find(shape.values);
    if (values == body.end() || !values->is_array()) {
      return Malformed(page, path, absl::StrCat("the response has no \"", shape.values, "\" list"));
    }
    for (json& item : *values) items.push_back(std::move(item));

    if (!body.contains(shape.next) || body.at(shape.next).is_null()) return items;
    const json* next = &body.at(shape.next);
    if (!next->is_string()) return Malformed(page, path, "the \"next\" link is not a string");
    if (next->get_ref<const std::string&>().empty()) return items;
    absl::StatusOr<std::string> target = ResolveSameOrigin(base, next->get<std::string>());
    if (!target.ok()) return Malformed(page, path, std::string(target.status().message()));
    if (!visited.insert(Canonical(*target)).second) {
      return Malformed(page, path, "the \"next\" link leads back to a page already read (a loop)");
    }
    request.url = std::move(*target);
  }
}

absl::StatusOr<std::vector<json>> FetchBareArray(Client& client, Request request,
                                                 std::stop_token stop) {
  const std::string path = PathOf(request.url);
  absl::StatusOr<Response> response = client.Do(request, stop);
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status > 299) return PageError(*response, 1, path);
  json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Malformed(1, path, "the response is not JSON");
  if (!body.is_array()) return Malformed(1, path, "the response is not a JSON array");
  std::vector<json> items;
  items.reserve(body.size());
  for (json& item : body) items.push_back(std::move(item));
  return items;
}

}  // namespace arnica::http
