// The one HTTP client every service client (Bitbucket, Atlassian Admin, Arnica) goes through.
// It owns what must be the same for all of them: TLS always verified, plain http only to
// loopback, connection reuse, a named retry policy for idempotent requests, a bounded number of
// requests in flight per host for the whole process, cancellation by stop token, and logging
// that never carries a header value, a query string or a body.
//
// Thread safety: a Client may be shared by any number of threads; Do() is re-entrant.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace arnica::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  // Absolute http(s) URL. Its query string may carry secrets: it is never logged or echoed.
  std::string url;
  HeaderList headers;
  // Sent like `headers`, but their values are secrets (Authorization and the like); kept apart
  // so that nothing that describes a request can reach them by accident.
  HeaderList secret_headers;
  std::string body;
  // The server treats repeats of this request as one (a POST that re-runs a job, say), so it
  // may be retried like an idempotent method.
  bool repeatable = false;
};

struct Response {
  long status = 0;
  HeaderList headers;  // names lower-cased, in arrival order
  std::string body;

  // The first header of that name (case-insensitive), if any.
  std::optional<std::string> Header(std::string_view name) const;
};

// Which requests are retried and how long to wait in between. Idempotent methods (GET, HEAD,
// PUT, DELETE, OPTIONS) and requests marked `repeatable` are retried on the statuses in
// kRetryableStatuses and on connection failures; any other request only on 429, which says the
// server did not act on it. The wait is capped exponential backoff with full jitter, unless the
// server names one (Retry-After, or X-RateLimit-Reset on a 429), which is then honoured up to
// max_delay.
struct RetryPolicy {
  static constexpr long kRetryableStatuses[] = {429, 502, 503, 504};

  int max_attempts = 5;  // including the first
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{30000};
};

struct ClientOptions {
  // PEM file of trusted CAs; the system store when unset. Verification is never turned off.
  std::optional<std::string> ca_bundle;
  std::chrono::milliseconds request_timeout{30000};  // one attempt, connection included
  // One Do() call, every attempt and every wait between them included. A retry whose wait would
  // end past it is not made: the last answer (or error) is returned instead.
  std::chrono::milliseconds overall_timeout{300000};
  std::chrono::milliseconds connect_timeout{10000};
  RetryPolicy retry;
  // Requests in flight per scheme+host+port, shared by every Client in the process. The first
  // Client to reach a host fixes that host's limit.
  int max_concurrency_per_host = 4;
  // A larger response body is an error rather than a memory hazard.
  std::size_t max_response_bytes = std::size_t{64} << 20;
  // Called once per attempt with structured fields (method, path without query, status or
  // error, duration, attempt). The provider forwards them to its TRACE log; the hook keeps this
  // library free of the plugin library. The fields never hold a secret.
  std::function<void(const nlohmann::json&)> on_attempt;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends the request, retrying as the policy allows. An HTTP error status is a Response, not
  // an error (after retries, the last one). Errors: InvalidArgument for a URL or header this
  // client refuses (before any connection), Cancelled once `stop` fires (also mid-transfer,
  // within about a second), DeadlineExceeded for a timeout, ResourceExhausted for a body over
  // the cap, Unavailable for other transport failures. Messages name the method, host and path
  // only.
  absl::StatusOr<Response> Do(const Request& request, std::stop_token stop = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Exposed for tests: whether `host` (as a URL spells it, IPv6 in brackets) is a loopback
// address, the only kind plain http may reach.
bool IsLoopbackHost(std::string_view host);

}  // namespace arnica::http
