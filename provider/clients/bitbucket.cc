#include "provider/clients/bitbucket.h"

#include <cctype>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "provider/clients/fields.h"
#include "provider/clients/ip_allowlist.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/http/paging.h"

namespace arnica::clients {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using internal::StringField;

// A bearer is dropped this long before Bitbucket says it expires, so that a request never
// leaves with a token about to lapse.
constexpr std::chrono::seconds kBearerMargin{60};
constexpr std::chrono::seconds kDefaultBearerLifetime{3600};

std::string Basic(std::string_view user, std::string_view secret) {
  return "Basic " + absl::Base64Escape(absl::StrCat(std::string(user), ":", std::string(secret)));
}

absl::Status Malformed(std::string_view what) { return internal::Malformed("Bitbucket", what); }

absl::StatusOr<json> ParseObject(const http::Response& response, std::string_view what) {
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return Malformed(what);
  return body;
}

absl::StatusOr<BitbucketUser> ParseUser(const json& object, std::string_view what) {
  if (!object.is_object()) return Malformed(what);
  std::optional<std::string> uuid = CanonicalUuid(StringField(object, "uuid"));
  if (!uuid) return Malformed(what);
  return BitbucketUser{.uuid = *uuid,
                       .account_id = StringField(object, "account_id"),
                       .nickname = StringField(object, "nickname"),
                       .display_name = StringField(object, "display_name"),
                       .username = StringField(object, "username")};
}

absl::StatusOr<WorkspaceMembership> ParseMembership(const json& object, std::string_view what) {
  if (!object.is_object() || !object.contains("user")) return Malformed(what);
  absl::StatusOr<BitbucketUser> user = ParseUser(object.at("user"), what);
  if (!user.ok()) return user.status();
  std::string slug;
  if (auto ws = object.find("workspace"); ws != object.end() && ws->is_object()) {
    slug = StringField(*ws, "slug");
  }
  return WorkspaceMembership{StringField(object, "permission"), *std::move(user), slug,
                             object.contains("added_on") || object.contains("last_accessed")};
}

std::vector<std::string> SplitScopes(std::string_view header) {
  std::vector<std::string> scopes;
  for (absl::string_view part : absl::StrSplit(absl::string_view(header.data(), header.size()),
                                               absl::ByAnyChar(", \t"), absl::SkipEmpty())) {
    scopes.emplace_back(part);
  }
  return scopes;
}

CredentialInfo InfoFrom(const http::Response& response) {
  return CredentialInfo{response.Header("x-credential-type").value_or(""),
                        SplitScopes(response.Header("x-oauth-scopes").value_or(""))};
}

bool Success(const http::Response& response) { return internal::Success(response.status); }

absl::StatusOr<std::vector<WorkspaceMembership>> ParseMemberships(const std::vector<json>& items,
                                                                  std::string_view what) {
  std::vector<WorkspaceMembership> members;
  for (const json& item : items) {
    absl::StatusOr<WorkspaceMembership> member = ParseMembership(item, what);
    if (!member.ok()) return member.status();
    members.push_back(*std::move(member));
  }
  return members;
}

// A string literal of Bitbucket's query language: double quotes, with `"` and `\` escaped.
std::string QueryString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

const char* CredentialKind(const BitbucketCredential& credential) {
  struct Visitor {
    const char* operator()(const ApiToken&) const { return "api_token"; }
    const char* operator()(const OAuthConsumer&) const { return "oauth_consumer"; }
    const char* operator()(const AccessToken&) const { return "access_token"; }
    const char* operator()(const AppPassword&) const { return "app_password"; }
  };
  return std::visit(Visitor{}, credential);
}

std::string EncodeSegment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::optional<std::string> CanonicalUuid(std::string_view text) {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
  if (text.size() != 36) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) {
      return std::nullopt;
    }
  }
  return absl::StrCat("{", absl::AsciiStrToLower(std::string(text)), "}");
}

// --- Authentication ------------------------------------------------------------------------------

// The OAuth consumer's current bearer token, fetched on first use and again after it expires
// or Bitbucket refuses it.
struct BitbucketClient::BearerCache {
  std::mutex mutex;
  std::string token;  // guarded by mutex
  Clock::time_point expires;
};

BitbucketClient::BitbucketClient(std::shared_ptr<http::Client> http, BitbucketOptions options)
    : http_(std::move(http)),
      options_(std::move(options)),
      bearer_(std::make_unique<BearerCache>()) {
  std::string& base = options_.base_url;
  while (absl::EndsWith(base, "/")) base.pop_back();
  if (absl::EndsWith(base, "/2.0")) base.resize(base.size() - 4);
}

BitbucketClient::~BitbucketClient() = default;

std::string BitbucketClient::Url(std::string_view path) const {
  return absl::StrCat(options_.base_url, std::string(path));
}

absl::StatusOr<http::HeaderList> BitbucketClient::Authorization(std::stop_token stop,
                                                                bool refresh) {
  const BitbucketCredential& credential = options_.credential;
  if (const auto* token = std::get_if<ApiToken>(&credential)) {
    return http::HeaderList{{"Authorization", Basic(token->email, token->token)}};
  }
  if (const auto* password = std::get_if<AppPassword>(&credential)) {
    return http::HeaderList{{"Authorization", Basic(password->username, password->password)}};
  }
  if (const auto* token = std::get_if<AccessToken>(&credential)) {
    return http::HeaderList{{"Authorization", "Bearer " + token->token}};
  }
  const auto& consumer = std::get<OAuthConsumer>(credential);
  std::lock_guard lock(bearer_->mutex);
  if (refresh || bearer_->token.empty() || Clock::now() >= bearer_->expires) {
    http::Request request{
        .method = "POST",
        .url = consumer.token_url,
        .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                    {"Accept", "application/json"}},
        .secret_headers = {{"Authorization", Basic(consumer.client_id, consumer.client_secret)}},
        .body = "grant_type=client_credentials"};
    absl::StatusOr<http::Response> response = http_->Do(request, stop);
    if (!response.ok()) {
      return http::Prefixed(response.status(), "fetching an OAuth token for the consumer: ");
    }
    json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (!Success(*response)) {
      std::string error = body.is_object() ? StringField(body, "error") : "";
      std::string description = body.is_object() ? StringField(body, "error_description") : "";
      std::string said = http::CleanServerText(
          error.empty() ? response->body : absl::StrCat(error, ": ", description));
      return absl::UnauthenticatedError(absl::StrCat(
          "Bitbucket's OAuth token endpoint refused the consumer (HTTP ", response->status, ": ",
          said,
          "). Check the consumer's key and secret, and that the consumer is private: the "
          "client-credentials grant needs a private OAuth consumer."));
    }
    if (!body.is_object() || !body.contains("access_token") || !body["access_token"].is_string() ||
        body["access_token"].get<std::string>().empty()) {
      return Malformed("the OAuth token request");
    }
    auto lifetime = kDefaultBearerLifetime;
    if (body.contains("expires_in") && body["expires_in"].is_number()) {
      lifetime = std::chrono::seconds(body["expires_in"].get<long>());
    }
    bearer_->token = body["access_token"].get<std::string>();
    bearer_->expires = Clock::now() + std::max(lifetime - kBearerMargin, lifetime / 2);
  }
  return http::HeaderList{{"Authorization", "Bearer " + bearer_->token}};
}

absl::StatusOr<http::Response> BitbucketClient::Send(http::Request request, std::stop_token stop) {
  bool refreshable = std::holds_alternative<OAuthConsumer>(options_.credential);
  absl::StatusOr<http::Response> response;
  for (bool refresh : {false, true}) {
    absl::StatusOr<http::HeaderList> authorization = Authorization(stop, refresh);
    if (!authorization.ok()) return authorization.status();
    request.secret_headers = *std::move(authorization);
    response = http_->Do(request, stop);
    if (!response.ok() || response->status != 401 || !refreshable) break;
  }
  return response;
}

absl::StatusOr<std::vector<json>> BitbucketClient::WithAuthorization(
    std::stop_token stop, std::string_view workspace,
    const std::function<absl::StatusOr<std::vector<json>>(http::HeaderList)>& fetch) {
  bool refreshable = std::holds_alternative<OAuthConsumer>(options_.credential);
  absl::StatusOr<std::vector<json>> items;
  for (bool refresh : {false, true}) {
    absl::StatusOr<http::HeaderList> authorization = Authorization(stop, refresh);
    if (!authorization.ok()) return authorization.status();
    items = fetch(*std::move(authorization));
    if (items.ok() || !absl::IsUnauthenticated(items.status()) || !refreshable) break;
  }
  if (!items.ok()) return Explained(items.status(), workspace);
  return items;
}

absl::StatusOr<std::vector<json>> BitbucketClient::SendPaged(http::Request first,
                                                             std::stop_token stop,
                                                             std::string_view workspace) {
  return WithAuthorization(stop, workspace, [&](http::HeaderList authorization) {
    first.secret_headers = std::move(authorization);
    return http::FetchAllPages(*http_, first, stop);
  });
}

absl::StatusOr<std::vector<json>> BitbucketClient::SendBareArray(http::Request request,
                                                                 std::stop_token stop,
                                                                 std::string_view workspace) {
  return WithAuthorization(stop, workspace, [&](http::HeaderList authorization) {
    request.secret_headers = std::move(authorization);
    return http::FetchBareArray(*http_, request, stop);
  });
}

absl::Status BitbucketClient::ErrorFor(const http::Response& response,
                                       std::string_view workspace) const {
  return Explained(http::ToStatus(http::ParseBitbucketError(response)), workspace);
}

absl::Status BitbucketClient::Explained(absl::Status status, std::string_view workspace) const {
  std::optional<http::ServiceError> error = http::ServiceErrorOf(status);
  // An IP allowlist belongs to a workspace: named, the user learns which settings to change.
  if (error && IsIpAllowlistRefusal(*error) && !workspace.empty()) {
    return http::ToStatus(
        *error, absl::StrCat("Bitbucket refused a call for the workspace ",
                             http::CleanServerText(workspace, 100),
                             " because of the workspace's IP allowlist (HTTP ", error->status,
                             error->message.empty() ? "" : ": ", error->message, "). ",
                             IpAllowlistAdvice(workspace)));
  }
  // A 401 from Bitbucket says nothing about why; the credential's kind usually does.
  if (!error || error->status != 401) return status;
  std::string head =
      absl::StrCat("Bitbucket refused the ", CredentialKind(options_.credential), " (HTTP 401",
                   error->message.empty() ? "" : ": ", error->message, "). ");
  std::string remedy;
  if (std::holds_alternative<AppPassword>(options_.credential)) {
    remedy =
        "Bitbucket removed app passwords on 2026-07-28, so this credential cannot work any "
        "more: create an Atlassian API token with scopes for the same account "
        "(https://id.atlassian.com/manage-profile/security/api-tokens) and configure it with the "
        "account's e-mail address instead of the username.";
  } else if (const auto* token = std::get_if<ApiToken>(&options_.credential)) {
    // The configured name is not quoted: a user who swapped it with the token must not see the
    // token in a diagnostic.
    remedy = absl::StrContains(token->email, '@')
                 ? "Check that the token belongs to this e-mail's Atlassian account, that it has "
                   "not expired or been revoked, and that it was created for Bitbucket."
                 : "Atlassian API tokens authenticate with the account's e-mail address, and the "
                   "configured name is not one (a Bitbucket username works only for git): "
                   "configure the e-mail address.";
  } else if (std::holds_alternative<OAuthConsumer>(options_.credential)) {
    remedy =
        "Bitbucket refused a freshly issued OAuth token; check that the consumer still exists "
        "and has the scopes this call needs.";
  } else {
    remedy = "Check that the access token has not expired or been revoked.";
  }
  absl::Status explained = http::ToStatus(*error, head + remedy);
  return explained;
}

// --- Calls -----------------------------------------------------------------------------------

absl::StatusOr<CurrentUser> BitbucketClient::GetCurrentUser(std::stop_token stop) {
  absl::StatusOr<http::Response> response = Send({.url = Url("/2.0/user")}, stop);
  if (!response.ok()) return response.status();
  if (!Success(*response)) return ErrorFor(*response);
  absl::StatusOr<json> body = ParseObject(*response, "GET /2.0/user");
  if (!body.ok()) return body.status();
  absl::StatusOr<BitbucketUser> user = ParseUser(*body, "GET /2.0/user");
  if (!user.ok()) return user.status();
  return CurrentUser{*std::move(user), InfoFrom(*response)};
}

absl::StatusOr<std::vector<Email>> BitbucketClient::ListCurrentUserEmails(std::stop_token stop) {
  absl::StatusOr<std::vector<json>> items = SendPaged({.url = Url("/2.0/user/emails")}, stop);
  if (!items.ok()) return items.status();
  std::vector<Email> emails;
  for (const json& item : *items) {
    if (!item.is_object() || StringField(item, "email").empty()) {
      return Malformed("GET /2.0/user/emails");
    }
    emails.push_back({StringField(item, "email"), item.value("is_primary", false),
                      item.value("is_confirmed", false)});
  }
  return emails;
}

absl::StatusOr<std::optional<BitbucketUser>> BitbucketClient::GetUser(std::string_view selected,
                                                                      std::stop_token stop) {
  std::string id = CanonicalUuid(selected).value_or(std::string(selected));
  absl::StatusOr<http::Response> response =
      Send({.url = Url(absl::StrCat("/2.0/users/", EncodeSegment(id)))}, stop);
  if (!response.ok()) return response.status();
  if (response->status == 404) return std::nullopt;
  if (!Success(*response)) return ErrorFor(*response);
  absl::StatusOr<json> body = ParseObject(*response, "GET /2.0/users/{user}");
  if (!body.ok()) return body.status();
  absl::StatusOr<BitbucketUser> user = ParseUser(*body, "GET /2.0/users/{user}");
  if (!user.ok()) return user.status();
  return std::optional<BitbucketUser>(*std::move(user));
}

absl::StatusOr<std::vector<WorkspaceAccess>> BitbucketClient::ListUserWorkspaces(
    std::optional<bool> administrator, std::stop_token stop) {
  std::string url = Url("/2.0/user/workspaces?pagelen=100");
  if (administrator) absl::StrAppend(&url, "&administrator=", *administrator ? "true" : "false");
  absl::StatusOr<std::vector<json>> items = SendPaged({.url = url}, stop);
  if (!items.ok()) return items.status();
  std::vector<WorkspaceAccess> workspaces;
  for (const json& item : *items) {
    if (!item.is_object() || !item.contains("workspace") || !item["workspace"].is_object()) {
      return Malformed("GET /2.0/user/workspaces");
    }
    const json& workspace = item["workspace"];
    std::optional<std::string> uuid = CanonicalUuid(StringField(workspace, "uuid"));
    if (!uuid || StringField(workspace, "slug").empty()) {
      return Malformed("GET /2.0/user/workspaces");
    }
    workspaces.push_back(
        {*uuid, StringField(workspace, "slug"), item.value("administrator", false)});
  }
  return workspaces;
}

absl::StatusOr<WorkspaceMembership> BitbucketClient::GetUserWorkspacePermission(
    std::string_view workspace, std::stop_token stop) {
  std::string path = absl::StrCat("/2.0/user/workspaces/", EncodeSegment(workspace), "/permission");
  absl::StatusOr<http::Response> response = Send({.url = Url(path)}, stop);
  if (!response.ok()) return response.status();
  if (!Success(*response)) return ErrorFor(*response, workspace);
  absl::StatusOr<json> body = ParseObject(*response, "GET /2.0/user/workspaces/{ws}/permission");
  if (!body.ok()) return body.status();
  absl::StatusOr<WorkspaceMembership> membership =
      ParseMembership(*body, "GET /2.0/user/workspaces/{ws}/permission");
  if (!membership.ok()) return membership.status();
  if (membership->permission.empty()) return Malformed("GET /2.0/user/workspaces/{ws}/permission");
  return membership;
}

absl::StatusOr<Workspace> BitbucketClient::GetWorkspace(std::string_view workspace,
                                                        std::stop_token stop) {
  absl::StatusOr<http::Response> response =
      Send({.url = Url(absl::StrCat("/2.0/workspaces/", EncodeSegment(workspace)))}, stop);
  if (!response.ok()) return response.status();
  if (!Success(*response)) return ErrorFor(*response, workspace);
  absl::StatusOr<json> body = ParseObject(*response, "GET /2.0/workspaces/{ws}");
  if (!body.ok()) return body.status();
  std::optional<std::string> uuid = CanonicalUuid(StringField(*body, "uuid"));
  if (!uuid || StringField(*body, "slug").empty()) return Malformed("GET /2.0/workspaces/{ws}");
  return Workspace{*uuid, StringField(*body, "slug"), StringField(*body, "name")};
}

absl::StatusOr<std::vector<WorkspaceMembership>> BitbucketClient::ListWorkspaceMembers(
    std::string_view workspace, std::stop_token stop) {
  std::string url =
      Url(absl::StrCat("/2.0/workspaces/", EncodeSegment(workspace), "/members?pagelen=100"));
  absl::StatusOr<std::vector<json>> items = SendPaged({.url = url}, stop, workspace);
  if (!items.ok()) return items.status();
  return ParseMemberships(*items, "GET /2.0/workspaces/{ws}/members");
}

absl::StatusOr<std::optional<WorkspaceMembership>> BitbucketClient::GetWorkspaceMember(
    std::string_view workspace, std::string_view member, std::stop_token stop) {
  std::string path = absl::StrCat("/2.0/workspaces/", EncodeSegment(workspace), "/members/",
                                  EncodeSegment(member));
  absl::StatusOr<http::Response> response = Send({.url = Url(path)}, stop);
  if (!response.ok()) return response.status();
  if (response->status == 404) return std::nullopt;
  if (!Success(*response)) return ErrorFor(*response, workspace);
  absl::StatusOr<json> body = ParseObject(*response, "GET /2.0/workspaces/{ws}/members/{member}");
  if (!body.ok()) return body.status();
  absl::StatusOr<WorkspaceMembership> membership =
      ParseMembership(*body, "GET /2.0/workspaces/{ws}/members/{member}");
  if (!membership.ok()) return membership.status();
  return std::optional<WorkspaceMembership>(*std::move(membership));
}

absl::StatusOr<std::vector<WorkspaceMembership>> BitbucketClient::FindWorkspaceMembersByEmail(
    std::string_view workspace, const std::vector<std::string>& emails, std::stop_token stop) {
  if (emails.empty() || emails.size() > kMaxEmailsPerLookup) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an e-mail lookup takes 1 to ", kMaxEmailsPerLookup, " addresses, not ", emails.size()));
  }
  std::vector<std::string> quoted;
  for (const std::string& email : emails) quoted.push_back(QueryString(email));
  std::string filter = absl::StrCat("user.email IN (", absl::StrJoin(quoted, ", "), ")");
  std::string url = Url(absl::StrCat("/2.0/workspaces/", EncodeSegment(workspace),
                                     "/members?pagelen=100&q=", EncodeSegment(filter)));
  absl::StatusOr<std::vector<json>> items = SendPaged({.url = url}, stop, workspace);
  if (!items.ok()) return items.status();
  return ParseMemberships(*items, "GET /2.0/workspaces/{ws}/members?q=user.email");
}

absl::StatusOr<std::vector<WorkspaceMembership>> BitbucketClient::ListWorkspacePermissions(
    std::string_view workspace, std::string_view permission, std::stop_token stop) {
  std::string url =
      Url(absl::StrCat("/2.0/workspaces/", EncodeSegment(workspace), "/permissions?pagelen=100"));
  if (!permission.empty()) {
    absl::StrAppend(
        &url, "&q=", EncodeSegment(absl::StrCat("permission=\"", std::string(permission), "\"")));
  }
  absl::StatusOr<std::vector<json>> items = SendPaged({.url = url}, stop, workspace);
  if (!items.ok()) return items.status();
  return ParseMemberships(*items, "GET /2.0/workspaces/{ws}/permissions");
}

absl::StatusOr<std::vector<Group>> BitbucketClient::ListGroups(std::string_view workspace,
                                                               std::stop_token stop) {
  absl::StatusOr<std::vector<json>> items = SendBareArray(
      {.url = Url(absl::StrCat("/1.0/groups/", EncodeSegment(workspace)))}, stop, workspace);
  if (!items.ok()) return items.status();
  std::vector<Group> groups;
  for (const json& item : *items) {
    if (!item.is_object() || StringField(item, "slug").empty()) {
      return Malformed("GET /1.0/groups/{ws}");
    }
    groups.push_back(
        {StringField(item, "slug"), StringField(item, "name"), StringField(item, "permission")});
  }
  return groups;
}

absl::StatusOr<std::optional<std::vector<BitbucketUser>>> BitbucketClient::ListGroupMembers(
    std::string_view workspace, std::string_view group, std::stop_token stop) {
  std::string path =
      absl::StrCat("/1.0/groups/", EncodeSegment(workspace), "/", EncodeSegment(group), "/members");
  absl::StatusOr<std::vector<json>> items = SendBareArray({.url = Url(path)}, stop, workspace);
  if (absl::IsNotFound(items.status())) return std::nullopt;
  if (!items.ok()) return items.status();
  std::vector<BitbucketUser> members;
  for (const json& item : *items) {
    absl::StatusOr<BitbucketUser> user = ParseUser(item, "GET /1.0/groups/{ws}/{group}/members");
    if (!user.ok()) return user.status();
    members.push_back(*std::move(user));
  }
  return std::optional<std::vector<BitbucketUser>>(std::move(members));
}

absl::StatusOr<BitbucketUser> BitbucketClient::AddGroupMember(std::string_view workspace,
                                                              std::string_view group,
                                                              std::string_view user_uuid,
                                                              std::stop_token stop) {
  std::string path = absl::StrCat("/1.0/groups/", EncodeSegment(workspace), "/",
                                  EncodeSegment(group), "/members/", EncodeSegment(user_uuid));
  absl::StatusOr<http::Response> response = Send({.method = "PUT",
                                                  .url = Url(path),
                                                  .headers = {{"Content-Type", "application/json"}},
                                                  .body = "{}"},
                                                 stop);
  if (!response.ok()) return response.status();
  if (!Success(*response)) return ErrorFor(*response, workspace);
  json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  return ParseUser(body, "PUT /1.0/groups/{ws}/{group}/members/{user}");
}

absl::Status BitbucketClient::RemoveGroupMember(std::string_view workspace, std::string_view group,
                                                std::string_view user_uuid, std::stop_token stop) {
  std::string path = absl::StrCat("/1.0/groups/", EncodeSegment(workspace), "/",
                                  EncodeSegment(group), "/members/", EncodeSegment(user_uuid));
  absl::StatusOr<http::Response> response = Send({.method = "DELETE", .url = Url(path)}, stop);
  if (!response.ok()) return response.status();
  if (!Success(*response)) return ErrorFor(*response, workspace);
  return absl::OkStatus();
}

}  // namespace arnica::clients
