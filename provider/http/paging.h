// Reading whole Bitbucket lists: 2.0 paginated bodies ({size, page, pagelen, next, values}) by
// following `next` to the end, and 1.0 bare JSON arrays. A list is either complete or an error:
// a failed, malformed or suspicious page never shortens the result.
#pragma once

#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "provider/http/client.h"

namespace arnica::http {

// Where a paginated body keeps its items and its next-page link. The default is Bitbucket 2.0's
// ({values, next}); the Atlassian Admin API keeps them in {data, links.next}.
struct PageShape {
  std::string values = "values";
  nlohmann::json::json_pointer next{"/next"};
  // Turns a non-2xx page into a Status; Bitbucket's error body (ToStatus) when unset.
  std::function<absl::Status(const Response&)> error;
};

// Sends `first`, then a copy of it (same method and headers, secret ones included) to each
// `next` link, and returns every page's `values` in order. A `next` link is followed only when
// it resolves to the same scheme, host and port as `first.url`: the Authorization header goes
// with it. Errors: the Client's own errors; for a non-2xx page, the shape's error status (by
// default coded by ToStatus(), with the ServiceError's diagnostic as message); FailedPrecondition
// for a page that is not a JSON object with a values array, a `next` that leaves the origin or is
// malformed, a `next` already visited, or more than `max_pages` pages. Messages name the page
// number and the path, never a query string or a header.
absl::StatusOr<std::vector<nlohmann::json>> FetchAllPages(Client& client, Request first,
                                                          std::stop_token stop,
                                                          int max_pages = 1000,
                                                          const PageShape& shape = {});

// For 1.0 endpoints that answer a bare JSON array (not paginated). Errors as for FetchAllPages;
// any body that is not a JSON array is FailedPrecondition.
absl::StatusOr<std::vector<nlohmann::json>> FetchBareArray(Client& client, Request request,
                                                           std::stop_token stop);

// Exposed for tests: `next` resolved against `base` (relative links allowed), when the result
// has the same scheme, host and port (default ports made explicit) and no user-info;
// FailedPrecondition otherwise.
absl::StatusOr<std::string> ResolveSameOrigin(const std::string& base, const std::string& next);

}  // namespace arnica::http
