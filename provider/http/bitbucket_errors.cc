#include "provider/http/bitbucket_errors.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace arnica::http {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxText = 200;
constexpr char kPayloadType[] = "type.arnica.dev/ServiceError";

json ToJson(const ServiceError& e) {
  json out = {
      {"service", e.service}, {"status", e.status},          {"kind", e.kind},
      {"message", e.message}, {"granted", e.granted_scopes}, {"required", e.required_scopes},
      {"gone", e.gone}};
  if (e.detail) out["detail"] = *e.detail;
  if (e.credential_type) out["credential_type"] = *e.credential_type;
  if (e.announcement_url) out["announcement_url"] = *e.announcement_url;
  if (e.replacement) out["replacement"] = *e.replacement;
  return out;
}

std::optional<std::string> OptionalString(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

ServiceError FromJson(const json& j) {
  ServiceError e;
  e.service = j.value("service", "Bitbucket");
  e.status = j.value("status", 0L);
  e.kind = j.value("kind", "");
  e.message = j.value("message", "");
  e.granted_scopes = j.value("granted", std::vector<std::string>{});
  e.required_scopes = j.value("required", std::vector<std::string>{});
  e.gone = j.value("gone", false);
  e.detail = OptionalString(j, "detail");
  e.credential_type = OptionalString(j, "credential_type");
  e.announcement_url = OptionalString(j, "announcement_url");
  e.replacement = OptionalString(j, "replacement");
  return e;
}

// Length of the valid UTF-8 sequence at text[i], or 0 when it is not valid.
std::size_t Utf8Length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned min = 0, value = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0)
    length = 2, value = lead & 0x1F, min = 0x80;
  else if ((lead & 0xF0) == 0xE0)
    length = 3, value = lead & 0x0F, min = 0x800;
  else if ((lead & 0xF8) == 0xF0)
    length = 4, value = lead & 0x07, min = 0x10000;
  else
    return 0;
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  return length;
}

bool LooksLikeMarkup(std::string_view text) {
  std::size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '<';
}

// The text between tags, without <script> and <style> contents.
std::string StripTags(std::string_view text) {
  std::string out;
  std::string lower = absl::AsciiStrToLower(std::string(text));
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '<') {
      out += text[i++];
      continue;
    }
    for (std::string_view block : {"script", "style"}) {
      if (lower.compare(i + 1, block.size(), block) == 0) {
        std::size_t end = lower.find("</" + std::string(block), i);
        i = end == std::string::npos ? text.size() : end;
        break;
      }
    }
    std::size_t close = text.find('>', i);
    i = close == std::string_view::npos ? text.size() : close + 1;
    out += ' ';
  }
  return out;
}

std::string JsonText(const json& value) {
  if (value.is_string()) return CleanServerText(value.get<std::string>(), kMaxText);
  return CleanServerText(value.dump(-1, ' ', false, json::error_handler_t::replace), kMaxText);
}

std::vector<std::string> ScopeList(const json& value) {
  std::vector<std::string> scopes;
  if (value.is_array()) {
    for (const json& item : value) {
      if (item.is_string()) scopes.push_back(CleanServerText(item.get<std::string>(), 100));
    }
  } else if (value.is_string()) {
    for (absl::string_view part :
         absl::StrSplit(value.get<std::string>(), absl::ByAnyChar(", \t"), absl::SkipEmpty())) {
      scopes.push_back(CleanServerText(std::string_view(part.data(), part.size()), 100));
    }
  }
  std::erase_if(scopes, [](const std::string& scope) { return scope.empty(); });
  return scopes;
}

std::vector<std::string> HeaderScopes(const Response& response, std::string_view name) {
  std::optional<std::string> value = response.Header(name);
  if (!value) return {};
  return ScopeList(json(*value));
}

std::string KindFor(long status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 410:
      return "gone";
    case 429:
      return "rate_limited";
    default:
      if (status >= 500 && status <= 599) return "server_error";
      if (status >= 400 && status <= 499) return "client_error";
      return "unexpected_status";
  }
}

std::string StatusName(long status) {
  switch (status) {
    case 400:
      return "400 Bad Request";
    case 401:
      return "401 Unauthorized";
    case 403:
      return "403 Forbidden";
    case 404:
      return "404 Not Found";
    case 405:
      return "405 Method Not Allowed";
    case 409:
      return "409 Conflict";
    case 410:
      return "410 Gone";
    case 429:
      return "429 Too Many Requests";
    case 500:
      return "500 Internal Server Error";
    case 502:
      return "502 Bad Gateway";
    case 503:
      return "503 Service Unavailable";
    case 504:
      return "504 Gateway Timeout";
    default:
      return absl::StrCat("HTTP status ", status);
  }
}

// A `/2.0/...` or `/1.0/...` path quoted in the server's text, e.g. "use GET /2.0/user/workspaces".
std::optional<std::string> FindEndpoint(std::string_view text) {
  for (std::string_view prefix : {"/2.0/", "/1.0/"}) {
    std::size_t start = text.find(prefix);
    if (start == std::string_view::npos) continue;
    std::size_t end = start;
    while (end < text.size() && !absl::ascii_isspace(static_cast<unsigned char>(text[end])) &&
           text[end] != '"' && text[end] != ',' && text[end] != ')' && text[end] != '?') {
      ++end;
    }
    std::string path(text.substr(start, end - start));
    while (!path.empty() && (path.back() == '.' || path.back() == ';')) path.pop_back();
    return path;
  }
  return std::nullopt;
}

void ReadData(const json& data, ServiceError& error) {
  if (!data.is_object()) return;
  if (!error.announcement_url) {
    auto url = data.find("announcement_url");
    if (url != data.end() && url->is_string()) error.announcement_url = JsonText(*url);
  }
  if (!error.replacement) {
    for (const char* key : {"replacement", "replacement_endpoint", "replaced_by"}) {
      auto found = data.find(key);
      if (found != data.end() && found->is_string()) {
        error.replacement = JsonText(*found);
        break;
      }
    }
  }
}

// Fills message/detail/scopes/data from a 2.0 body; false when the body is not that shape.
bool ReadJsonBody(const json& body, ServiceError& error) {
  if (!body.is_object()) return false;
  auto inner = body.find("error");
  if (inner == body.end()) return false;
  if (inner->is_string()) {  // not the documented shape, but plain enough
    error.message = JsonText(*inner);
    return true;
  }
  if (!inner->is_object()) return false;
  if (auto message = inner->find("message"); message != inner->end() && !message->is_null()) {
    error.message = JsonText(*message);
  }
  if (auto detail = inner->find("detail"); detail != inner->end() && !detail->is_null()) {
    if (detail->is_object() && (detail->contains("granted") || detail->contains("required"))) {
      if (auto granted = detail->find("granted"); granted != detail->end()) {
        error.granted_scopes = ScopeList(*granted);
      }
      if (auto required = detail->find("required"); required != detail->end()) {
        error.required_scopes = ScopeList(*required);
      }
    } else {
      error.detail = JsonText(*detail);
    }
  }
  if (auto data = inner->find("data"); data != inner->end()) ReadData(*data, error);
  if (auto data = body.find("data"); data != body.end()) ReadData(*data, error);
  return true;
}

}  // namespace

std::string CleanServerText(std::string_view text, std::size_t max_bytes) {
  std::string stripped;
  if (LooksLikeMarkup(text)) {
    stripped = StripTags(text);
    text = stripped;
  }
  std::string out;
  bool pending_space = false;
  bool truncated = false;
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F || c == ' ') {  // control characters and whitespace
      pending_space = !out.empty();
      ++i;
      continue;
    }
    std::size_t length = Utf8Length(text, i);
    std::string_view piece = length == 0 ? std::string_view("?") : text.substr(i, length);
    // C1 control characters (U+0080..U+009F) are dropped too.
    if (length == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      pending_space = !out.empty();
      i += 2;
      continue;
    }
    std::size_t needed = piece.size() + (pending_space ? 1 : 0);
    if (out.size() + needed > max_bytes) {
      truncated = true;
      break;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out.append(piece);
    i += length == 0 ? 1 : length;
  }
  if (truncated) out += "…";
  return out;
}

bool MentionsIpAllowlist(std::string_view text) {
  std::string lower = absl::AsciiStrToLower(std::string(text));
  for (const char* word : {"allowlist", "allow list", "allow-list", "whitelist", "white list",
                           "white-list", "ip address"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

std::vector<std::string> ServiceError::MissingScopes() const {
  std::vector<std::string> missing;
  for (const std::string& scope : required_scopes) {
    if (std::find(granted_scopes.begin(), granted_scopes.end(), scope) == granted_scopes.end()) {
      missing.push_back(scope);
    }
  }
  return missing.empty() ? required_scopes : missing;
}

ServiceError ParseBitbucketError(const Response& response) {
  ServiceError error;
  error.status = response.status;
  error.kind = KindFor(response.status);

  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!ReadJsonBody(body, error)) {
    // Not the 2.0 shape: a 1.0 plain-text body ("None"), an HTML error page, other JSON.
    error.message = CleanServerText(response.body, kMaxText);
  }

  if (response.status == 403 || response.status == 400) {
    if (error.granted_scopes.empty())
      error.granted_scopes = HeaderScopes(response, "x-oauth-scopes");
    if (error.required_scopes.empty() && response.status == 403) {
      error.required_scopes = HeaderScopes(response, "x-accepted-oauth-scopes");
    }
  }
  if (std::optional<std::string> type = response.Header("x-credential-type")) {
    std::string clean = CleanServerText(*type, 64);
    if (!clean.empty()) error.credential_type = clean;
  }
  if (!error.required_scopes.empty() && (response.status == 403 || response.status == 400)) {
    error.kind = "missing_scope";
  }
  if (response.status == 403 &&
      (MentionsIpAllowlist(error.message) || MentionsIpAllowlist(error.detail.value_or("")))) {
    error.kind = "ip_allowlist";
  }
  if (response.status == 410) {
    error.gone = true;
    if (!error.replacement) error.replacement = FindEndpoint(error.detail.value_or(""));
    if (!error.replacement) error.replacement = FindEndpoint(error.message);
  }
  return error;
}

std::string ServiceError::ForDiagnostic() const {
  std::string said;
  if (!message.empty()) said = absl::StrCat(": ", message);
  if (detail && !detail->empty() && *detail != message) absl::StrAppend(&said, " (", *detail, ")");
  std::string head = absl::StrCat(service, " answered ", StatusName(status), said);
  std::string credential =
      credential_type ? absl::StrCat(" (credential type: ", *credential_type, ")") : "";

  if (kind == "missing_scope") {
    std::vector<std::string> missing = MissingScopes();
    std::string granted =
        granted_scopes.empty() ? std::string("none reported") : absl::StrJoin(granted_scopes, ", ");
    return absl::StrCat(head, ". The credential", credential, " lacks scope",
                        missing.size() == 1 ? " " : "s ", absl::StrJoin(missing, ", "),
                        " (granted: ", granted,
                        "); grant it: create an Atlassian API token (or access token) that "
                        "includes ",
                        missing.size() == 1 ? "this scope" : "these scopes",
                        " and update the provider configuration.");
  }
  if (kind == "ip_allowlist") {
    // The caller knows the workspace and adds the rest (clients/ip_allowlist.h); this is what
    // can be said without it.
    return absl::StrCat(head,
                        ". The workspace's IP allowlist refused the address this call came "
                        "from: an administrator of the workspace can add the public IP address "
                        "of the machine running OpenTofu in the workspace settings, under Access "
                        "controls.");
  }
  switch (status) {
    case 401:
      return absl::StrCat(head,
                          ". Check the credential: use your Atlassian account e-mail with a "
                          "current Atlassian API token (app passwords no longer work), and make "
                          "sure it has not expired or been revoked.");
    case 403:
      return absl::StrCat(head, ". The credential", credential,
                          " is not allowed to do this: check that its user has the needed "
                          "permission on the workspace or repository, and that the token is not "
                          "restricted to another workspace.");
    case 404:
      return absl::StrCat(head,
                          ". Check the workspace, repository or group name (use the slug), and "
                          "that the credential can see it.");
    case 405:
      return absl::StrCat(head,
                          ". Bitbucket does not allow this operation here; for workspaces "
                          "administered in admin.atlassian.com, manage groups in Atlassian "
                          "Administration instead.");
    case 410: {
      std::string remedy = ". This endpoint has been removed by Bitbucket";
      if (replacement) {
        absl::StrAppend(&remedy, "; use ", *replacement, " instead");
      }
      if (announcement_url) absl::StrAppend(&remedy, "; see ", *announcement_url);
      absl::StrAppend(&remedy, ". Upgrade the provider to a version that no longer calls it.");
      return absl::StrCat(head, remedy);
    }
    case 429:
      return absl::StrCat(head,
                          ". The Bitbucket rate limit was reached; wait and run again, or reduce "
                          "parallelism (-parallelism).");
    default:
      break;
  }
  if (status >= 500 && status <= 599) {
    return absl::StrCat(head, ". Bitbucket had a server-side failure; run again later.");
  }
  if (status >= 400 && status <= 499) {
    return absl::StrCat(head, ". Bitbucket rejected the request; check the configured values.");
  }
  return absl::StrCat(head,
                      ". The response was not a success; run again, and report it if it "
                      "persists.");
}

absl::Status ToStatus(const ServiceError& error) { return ToStatus(error, error.ForDiagnostic()); }

absl::Status ToStatus(const ServiceError& error, std::string_view message) {
  absl::StatusCode code = absl::StatusCode::kFailedPrecondition;
  switch (error.status) {
    case 400:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case 401:
      code = absl::StatusCode::kUnauthenticated;
      break;
    case 403:
      code = absl::StatusCode::kPermissionDenied;
      break;
    case 404:
      code = absl::StatusCode::kNotFound;
      break;
    case 409:
      code = absl::StatusCode::kAlreadyExists;
      break;
    case 410:
      code = absl::StatusCode::kUnimplemented;
      break;
    case 429:
      code = absl::StatusCode::kResourceExhausted;
      break;
    default:
      if (error.status >= 500 && error.status <= 599) code = absl::StatusCode::kUnavailable;
  }
  absl::Status status(code, absl::string_view(message.data(), message.size()));
  status.SetPayload(kPayloadType, absl::Cord(ToJson(error).dump()));
  return status;
}

std::optional<ServiceError> ServiceErrorOf(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadType);
  if (!payload) return std::nullopt;
  json j = json::parse(std::string(*payload), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  return FromJson(j);
}

absl::Status Prefixed(const absl::Status& status, std::string_view prefix) {
  absl::Status out(status.code(), absl::StrCat(std::string(prefix), status.message()));
  status.ForEachPayload(
      [&out](absl::string_view type, const absl::Cord& value) { out.SetPayload(type, value); });
  return out;
}

}  // namespace arnica::http
