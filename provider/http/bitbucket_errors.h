// Bitbucket error responses turned into one typed value, and that value into a sentence a user
// can act on. Everything here comes from the response (status, body, a few named headers): no
// request data (URL, query, headers, body) ever reaches a ServiceError, so its text is safe to
// show in a diagnostic or a log.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "provider/http/client.h"

namespace arnica::http {

struct ServiceError {
  // Who answered: "Bitbucket", "Atlassian Admin API" or "Arnica"; ForDiagnostic's remedies are
  // Bitbucket's, the other services' clients write their own message.
  std::string service = "Bitbucket";
  long status = 0;
  // A short stable word for the failure: "unauthorized", "missing_scope", "forbidden",
  // "ip_allowlist", "not_found", "method_not_allowed", "gone", "rate_limited", "server_error",
  // "bad_request", "conflict", "client_error" or "unexpected_status".
  // "ip_allowlist" is a 403 whose message or detail MentionsIpAllowlist(): a workspace's IP
  // allowlist refused the caller's address (it wins over "missing_scope", whose headers may come
  // with any 403). BitbucketClient adds the workspace and what to do (clients/ip_allowlist.h).
  std::string kind;
  // The server's message (2.0 `error.message`), or cleaned text of a non-JSON body; may be empty.
  std::string message;
  // 2.0 `error.detail` when it is a string, or a compact rendering of any other detail.
  std::optional<std::string> detail;
  // From `error.detail.granted/required` (403 scope error), else from the x-oauth-scopes and
  // x-accepted-oauth-scopes headers.
  std::vector<std::string> granted_scopes, required_scopes;
  std::optional<std::string> credential_type;  // x-credential-type
  bool gone = false;                           // 410, e.g. a CHANGE-2770 removed endpoint
  // `data.announcement_url` (in `error` or at the top level), when given.
  std::optional<std::string> announcement_url;
  // For a removed endpoint: the replacement the body names (a `/2.0/...` path), when it does.
  std::optional<std::string> replacement;

  // One or two sentences for a user: the status, what the server said, and the remedy.
  std::string ForDiagnostic() const;
  // The required scopes not among the granted ones (all required ones when nothing is granted).
  std::vector<std::string> MissingScopes() const;
};

// Whether a server's text speaks of an IP allowlist: "allowlist", "whitelist" (also as two
// words or hyphenated) or "IP address", in any case. Bitbucket's real wording for an allowlist
// refusal is not published, so any of these in a 403 counts.
bool MentionsIpAllowlist(std::string_view text);

// Never fails: an unknown body shape still gives a ServiceError with the status and some text.
ServiceError ParseBitbucketError(const Response& response);

// An absl::Status whose code follows the HTTP status (401 Unauthenticated, 403 PermissionDenied,
// 404 NotFound, 409 AlreadyExists, 410 Unimplemented, 429 ResourceExhausted, 5xx Unavailable,
// 400 InvalidArgument, other FailedPrecondition), whose message is ForDiagnostic() (or
// `message`), and which carries the ServiceError itself for ServiceErrorOf().
absl::Status ToStatus(const ServiceError& error);
absl::Status ToStatus(const ServiceError& error, std::string_view message);

// The ServiceError a status from ToStatus() carries (also after Prefixed()); nullopt for any
// other status, such as a transport failure.
std::optional<ServiceError> ServiceErrorOf(const absl::Status& status);

// The same status, payload included, with `prefix` before its message.
absl::Status Prefixed(const absl::Status& status, std::string_view prefix);

// Control characters removed, whitespace collapsed, HTML tags dropped when the text is markup,
// invalid UTF-8 replaced, and cut to at most `max_bytes` bytes (plus an ellipsis). Exposed for
// tests and for other callers that must quote a server's text.
std::string CleanServerText(std::string_view text, std::size_t max_bytes = 200);

}  // namespace arnica::http
