// The Bitbucket Cloud emulator: the 2.0 user, workspace and repository reads, the 1.0 group
// resource, the removed cross-workspace endpoints and the OAuth client-credentials token
// endpoint, as described in ../shared/reference/bitbucket.md. Where that sheet marks a behaviour
// uncertain, World's Options choose; where it is silent, the choice made here is stated next to
// the code.
//
// Every route but the token endpoint and the removed ones authenticates first (401), then sets
// the scope headers, then checks the credential kind and its scopes (403), and only then looks
// at the path.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/emulators/emulator.h"

namespace arnica::emulators {
namespace {

using nlohmann::json;

// Bitbucket says the same thing for every authentication failure; telling the user why is the
// client's job.
constexpr char kUnauthorized[] = "Token is invalid, expired, or not supported for this endpoint.";
constexpr char kWrongMechanism[] = "This API is not accessible by this authentication mechanism";
constexpr char kScopesLacking[] = "Your credentials lack one or more required privilege scopes.";
// Our model of an IP allowlist refusal; the real wording is not known.
constexpr char kNotOnAllowlist[] =
    "Your IP address is not on this workspace's allowlist. An administrator can change the "
    "allowlist in the workspace's access controls settings.";
constexpr char kChangelog2770[] =
    "https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770";
// Fixed timestamps: the world keeps none, and tests compare bodies.
constexpr char kCreatedOn[] = "2020-01-01T00:00:00.000000+00:00";
constexpr char kAddedOn[] = "2021-06-01T09:00:00.000000+00:00";
constexpr char kLastAccessed[] = "2026-11-30T12:00:00.000000+00:00";

void Error(Call& call, int status, const std::string& message) {
  call.Json(status, {{"type", "error"}, {"error", {{"message", message}}}});
}

// --- Text --------------------------------------------------------------------------------------

bool Unreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// Percent-encodes everything but unreserved characters (and '/' when `keep_slash`).
std::string Escape(const std::string& text, bool keep_slash = false) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += c;
      continue;
    }
    auto byte = static_cast<unsigned char>(c);
    out += {'%', kHex[byte >> 4], kHex[byte & 0xF]};
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// Decodes one application/x-www-form-urlencoded component; a malformed escape stays as sent.
std::string FormDecode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
      continue;
    }
    int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (text[i] == '%' && high >= 0 && low >= 0) {
      out += static_cast<char>(high * 16 + low);
      i += 2;
      continue;
    }
    out += text[i];
  }
  return out;
}

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> fields;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    std::string text(pair);
    auto equals = text.find('=');
    std::string key = FormDecode(text.substr(0, equals));
    fields[key] = equals == std::string::npos ? "" : FormDecode(text.substr(equals + 1));
  }
  return fields;
}

// A decimal integer >= 1 written as digits only; nullopt for anything else (and for more than
// nine digits, which no list here reaches).
std::optional<int> PositiveInt(const std::string& text) {
  constexpr std::size_t kMaxDigits = 9;
  if (text.empty() || text.size() > kMaxDigits) return std::nullopt;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  int value = std::stoi(text);
  if (value < 1) return std::nullopt;
  return value;
}

// --- Objects as Bitbucket renders them ---------------------------------------------------------

json Href(const std::string& url) { return {{"href", url}}; }

json UserLinks(const std::string& base, const User& user) {
  return {{"self", Href(base + "/2.0/users/" + Escape(user.uuid))},
          {"html", Href(base + "/" + Escape(user.uuid) + "/")},
          {"avatar", Href(base + "/account/" + Escape(user.account_id) + "/avatar/")}};
}

json UserSummary(const std::string& base, const User& user) {
  return {{"type", "user"},
          {"uuid", user.uuid},
          {"account_id", user.account_id},
          {"nickname", user.nickname},
          {"display_name", user.display_name},
          {"links", UserLinks(base, user)}};
}

json CurrentUser(const std::string& base, const User& user) {
  json out = UserSummary(base, user);
  out["username"] = user.username;
  out["account_status"] = "active";
  out["has_2fa_enabled"] = false;
  out["is_staff"] = false;
  out["created_on"] = kCreatedOn;
  return out;
}

json WorkspaceLinks(const std::string& base, const Workspace& workspace) {
  return {{"self", Href(base + "/2.0/workspaces/" + Escape(workspace.slug))},
          {"html", Href(base + "/" + Escape(workspace.slug) + "/")},
          {"avatar", Href(base + "/workspaces/" + Escape(workspace.slug) + "/avatar/")}};
}

json WorkspaceJson(const std::string& base, const Workspace& workspace) {
  return {{"type", "workspace"},    {"uuid", workspace.uuid},
          {"slug", workspace.slug}, {"name", workspace.name},
          {"is_private", true},     {"links", WorkspaceLinks(base, workspace)}};
}

json WorkspaceBase(const std::string& base, const Workspace& workspace) {
  json links = WorkspaceLinks(base, workspace);
  links.erase("html");
  return {{"type", "workspace_base"},
          {"uuid", workspace.uuid},
          {"slug", workspace.slug},
          {"links", links}};
}

// Workspaces administered in admin.atlassian.com leave out last_accessed and added_on.
json Membership(const std::string& base, const Workspace& workspace, const User& user,
                const std::string& permission) {
  json ws = WorkspaceJson(base, workspace);
  ws.erase("is_private");
  std::string self =
      base + "/2.0/workspaces/" + Escape(workspace.slug) + "/members/" + Escape(user.uuid);
  json out = {{"type", "workspace_membership"},
              {"permission", permission},
              {"user", UserSummary(base, user)},
              {"workspace", ws},
              {"links", {{"self", Href(self)}}}};
  if (!workspace.managed) {
    out["last_accessed"] = kLastAccessed;
    out["added_on"] = kAddedOn;
  }
  return out;
}

json User10(const std::string& base, const User& user) {
  return {{"display_name", user.display_name},
          {"account_id", user.account_id},
          {"is_active", true},
          {"is_team", false},
          {"is_staff", false},
          {"avatar", base + "/account/" + Escape(user.account_id) + "/avatar/32/"},
          {"resource_uri", "/1.0/users/" + user.uuid},
          {"nickname", user.nickname},
          {"uuid", user.uuid}};
}

// A 1.0 group's owner is the workspace, rendered as the team account it once was.
json Group10(World& world, const std::string& base, const Workspace& workspace,
             const Group& group) {
  json members = json::array();
  for (const auto& uuid : group.members) {
    if (const User* user = world.FindUser(uuid)) members.push_back(User10(base, *user));
  }
  json owner = {{"display_name", workspace.name},
                {"uuid", workspace.uuid},
                {"is_team", true},
                {"avatar", base + "/workspaces/" + Escape(workspace.slug) + "/avatar/"},
                {"nickname", workspace.slug},
                {"resource_uri", "/1.0/users/" + workspace.slug}};
  return {{"name", group.name},
          {"slug", group.slug},
          {"permission", group.permission.empty() ? json(nullptr) : json(group.permission)},
          {"auto_add", false},
          {"email_forwarding_disabled", false},
          {"owner", owner},
          {"members", members}};
}

// --- Who belongs where --------------------------------------------------------------------------

bool InGroup(const Group& group, const std::string& uuid) {
  return std::find(group.members.begin(), group.members.end(), uuid) != group.members.end();
}

// A user's permission in a workspace: "owner" for owners and for members of a group with admin
// permission (joining Administrators makes an administrator), else their member permission; a
// user who is only in a group counts as a plain member. "" for a non-member.
std::string PermissionOf(const Workspace& workspace, const std::string& uuid) {
  const WorkspaceMember* member = nullptr;
  for (const auto& m : workspace.members) {
    if (m.user == uuid) member = &m;
  }
  bool in_any_group = false, in_admin_group = false;
  for (const auto& group : workspace.groups) {
    if (!InGroup(group, uuid)) continue;
    in_any_group = true;
    in_admin_group = in_admin_group || group.permission == "admin";
  }
  if (member == nullptr && !in_any_group) return "";
  if (in_admin_group || (member != nullptr && member->permission == "owner")) return "owner";
  return member != nullptr ? member->permission : "member";
}

// Every member's uuid: the workspace's member list first, then anyone only in a group.
std::vector<std::string> MemberUuids(const Workspace& workspace) {
  std::vector<std::string> uuids;
  auto add = [&](const std::string& uuid) {
    if (std::find(uuids.begin(), uuids.end(), uuid) == uuids.end()) uuids.push_back(uuid);
  };
  for (const auto& member : workspace.members) add(member.user);
  for (const auto& group : workspace.groups) {
    for (const auto& uuid : group.members) add(uuid);
  }
  return uuids;
}

// --- Authentication ----------------------------------------------------------------------------

struct Caller {
  std::string credential_id;
  std::string kind;             // api_token | app_password | access_token | oauth2
  std::string credential_type;  // what x-credential-type says
  std::string user;             // uuid; empty for access tokens, which act for no user
  std::string workspace;        // access tokens: uuid of the workspace they are bound to
  std::vector<std::string> scopes;

  bool granular() const { return kind == "api_token"; }
  bool access_token() const { return kind == "access_token"; }
};

const Credential* BySecret(const World& world, const std::string& secret,
                           std::initializer_list<const char*> kinds) {
  if (secret.empty()) return nullptr;
  for (const auto& credential : world.credentials) {
    if (credential.revoked || credential.secret != secret) continue;
    for (const char* kind : kinds) {
      if (credential.kind == kind) return &credential;
    }
  }
  return nullptr;
}

// API tokens authenticate with one of the account's e-mails (any case), app passwords with the
// Bitbucket username (as stored); each refuses the other's name.
bool NameFits(const Credential& credential, const User& user, const std::string& name) {
  if (credential.kind == "app_password") return !user.username.empty() && name == user.username;
  for (const auto& email : user.emails) {
    if (absl::EqualsIgnoreCase(email.email, name)) return true;
  }
  return false;
}

std::optional<std::pair<std::string, std::string>> DecodeBasic(const std::string& encoded) {
  std::string decoded;
  if (!absl::Base64Unescape(encoded, &decoded)) return std::nullopt;
  auto colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded.substr(0, colon), decoded.substr(colon + 1));
}

std::optional<Caller> FromBasic(World& world, const std::string& encoded) {
  auto pair = DecodeBasic(encoded);
  if (!pair) return std::nullopt;
  const Credential* credential = BySecret(world, pair->second, {"api_token", "app_password"});
  if (credential == nullptr) return std::nullopt;
  if (credential->kind == "app_password" && world.options.app_passwords == "removed") {
    return std::nullopt;
  }
  const User* user = world.FindUser(credential->user);
  if (user == nullptr || !NameFits(*credential, *user, pair->first)) return std::nullopt;
  return Caller{.credential_id = credential->id,
                .kind = credential->kind,
                .credential_type = credential->kind,
                .user = user->uuid,
                .scopes = credential->scopes};
}

std::string AccessTokenType(const std::string& token_type) {
  if (token_type == "repository") return "repo_access_token";
  return token_type + "_access_token";
}

std::optional<Caller> FromIssuedToken(World& world, const std::string& token) {
  auto now = std::chrono::steady_clock::now();
  for (const auto& issued : world.oauth_tokens) {
    if (issued.token != token || issued.expires <= now) continue;
    const Credential* consumer = world.FindCredential(issued.credential_id);
    if (consumer == nullptr || consumer->revoked || consumer->kind != "oauth_consumer") break;
    const User* user = world.FindUser(consumer->user);
    if (user == nullptr) break;
    return Caller{.credential_id = consumer->id,
                  .kind = "oauth2",
                  .credential_type = "oauth2",
                  .user = user->uuid,
                  .scopes = consumer->scopes};
  }
  return std::nullopt;
}

std::optional<Caller> FromBearer(World& world, const std::string& token) {
  if (const Credential* credential = BySecret(world, token, {"access_token"})) {
    const Workspace* workspace = world.FindWorkspace(credential->workspace);
    if (workspace == nullptr) return std::nullopt;
    return Caller{.credential_id = credential->id,
                  .kind = "access_token",
                  .credential_type = AccessTokenType(credential->token_type),
                  .workspace = workspace->uuid,
                  .scopes = credential->scopes};
  }
  if (token.empty()) return std::nullopt;
  return FromIssuedToken(world, token);
}

std::optional<Caller> Authenticate(Call& call) {
  std::optional<std::string> header = call.RequestHeader("Authorization");
  if (!header) return std::nullopt;
  auto space = header->find(' ');
  if (space == std::string::npos) return std::nullopt;
  std::string scheme = header->substr(0, space);
  std::string value(absl::StripAsciiWhitespace(header->substr(space + 1)));
  if (absl::EqualsIgnoreCase(scheme, "Basic")) return FromBasic(call.world, value);
  if (absl::EqualsIgnoreCase(scheme, "Bearer")) return FromBearer(call.world, value);
  return std::nullopt;
}

// --- Scopes ------------------------------------------------------------------------------------

// What a route demands of a credential.
struct Access {
  std::vector<std::string> classic;   // OAuth, app passwords, access tokens
  std::vector<std::string> granular;  // API tokens
  bool no_access_tokens = false;      // user-centred APIs: access tokens act for no user
  bool no_api_tokens = false;         // the API needs a classic scope API tokens cannot carry
};

// Scopes never imply each other, except that the classic write scopes below include the read.
bool Grants(const std::vector<std::string>& granted, const std::string& scope) {
  auto has = [&](const char* name) {
    return std::find(granted.begin(), granted.end(), name) != granted.end();
  };
  if (has(scope.c_str())) return true;
  if (scope == "account") return has("account:write");
  if (scope == "team") return has("team:write");
  return false;
}

void ScopeError(Call& call, const Caller& caller, const std::vector<std::string>& required) {
  call.Json(403, {{"type", "error"},
                  {"error",
                   {{"message", kScopesLacking},
                    {"detail", {{"granted", caller.scopes}, {"required", required}}}}}});
}

// Authenticates the call and checks it against `access`. On failure it answers (401 or 403)
// and returns nullopt; every answer after authentication carries the scope headers.
std::optional<Caller> Admit(Call& call, const Access& access) {
  std::optional<Caller> caller = Authenticate(call);
  if (!caller) {
    Error(call, 401, kUnauthorized);
    return std::nullopt;
  }
  call.credential = caller->credential_id;
  const auto& required = caller->granular() ? access.granular : access.classic;
  call.Header("x-credential-type", caller->credential_type);
  call.Header("x-oauth-scopes", absl::StrJoin(caller->scopes, ", "));
  call.Header("x-accepted-oauth-scopes", absl::StrJoin(required, ", "));
  if (access.no_access_tokens && caller->access_token()) {
    Error(call, 403, kWrongMechanism);
    return std::nullopt;
  }
  bool refused = caller->granular() && access.no_api_tokens;
  bool missing = std::any_of(required.begin(), required.end(),
                             [&](const auto& scope) { return !Grants(caller->scopes, scope); });
  if (refused || missing) {
    ScopeError(call, *caller, required);
    return std::nullopt;
  }
  return caller;
}

const Access kUserRead{
    .classic = {"account"}, .granular = {"read:user:bitbucket"}, .no_access_tokens = true};
const Access kEmailRead{
    .classic = {"email"}, .granular = {"read:user:bitbucket"}, .no_access_tokens = true};
const Access kUserWorkspaceRead{
    .classic = {"account"}, .granular = {"read:workspace:bitbucket"}, .no_access_tokens = true};
const Access kWorkspaceRead{.granular = {"read:workspace:bitbucket"}};
const Access kMemberRead{.classic = {"account"}, .granular = {"read:workspace:bitbucket"}};

enum class GroupVerb { kRead, kPut, kDelete };

// Classic credentials need account / account:write. API tokens either cannot use the API at all
// (they cannot carry account:write) or use the permission scopes, as Options says.
Access GroupAccess(const Options& options, GroupVerb verb) {
  bool read = verb == GroupVerb::kRead;
  std::string classic = read ? "account" : "account:write";
  if (options.api_token_groups == "none") {
    return {.classic = {classic}, .granular = {classic}, .no_api_tokens = true};
  }
  const char* granular = read                      ? "read:permission:bitbucket"
                         : verb == GroupVerb::kPut ? "write:permission:bitbucket"
                                                   : "delete:permission:bitbucket";
  return {.classic = {classic}, .granular = {granular}};
}

// --- Pagination --------------------------------------------------------------------------------

// The request's own URL for another page: every query parameter kept but `page`, which is set.
std::string PageUrl(const Call& call, int page) {
  std::string url = call.base_url + Escape(call.request.path, true) + "?";
  for (const auto& [key, value] : call.request.params) {
    if (key != "page") absl::StrAppend(&url, Escape(key), "=", Escape(value), "&");
  }
  return absl::StrCat(url, "page=", page);
}

// Reads page and pagelen; answers 400 and returns false when either is invalid.
bool PageParameters(Call& call, int& page, int& pagelen) {
  const Options& options = call.world.options;
  page = 1;
  pagelen = options.default_pagelen;
  if (auto text = call.Query("pagelen")) {
    std::optional<int> value = PositiveInt(*text);
    if (!value || *value > options.max_pagelen) {
      Error(call, 400, "Invalid pagelen");
      return false;
    }
    pagelen = *value;
  }
  if (auto text = call.Query("page")) {
    std::optional<int> value = PositiveInt(*text);
    if (!value) {
      Error(call, 400, "Invalid page");
      return false;
    }
    page = *value;
  }
  return true;
}

// Answers one page of a 2.0 list. An empty list answers its one empty page whatever was asked.
void AnswerPage(Call& call, const std::vector<json>& values) {
  int page = 1, pagelen = 1;
  if (!PageParameters(call, page, pagelen)) return;
  int size = static_cast<int>(values.size());
  if (size == 0) {
    call.Json(200, {{"size", 0}, {"page", 1}, {"pagelen", pagelen}, {"values", json::array()}});
    return;
  }
  int last = (size + pagelen - 1) / pagelen;
  if (page > last) {
    Error(call, 404, "Invalid page");
    return;
  }
  auto first = values.begin() + (page - 1) * pagelen;
  json slice(std::vector<json>(first, first + std::min(pagelen, size - (page - 1) * pagelen)));
  json body = {{"size", size}, {"page", page}, {"pagelen", pagelen}, {"values", slice}};
  if (page < last) body["next"] = PageUrl(call, page + 1);
  if (page > 1) body["previous"] = PageUrl(call, page - 1);
  call.Json(200, body);
}

// --- 2.0: the caller ---------------------------------------------------------------------------

void GetCurrentUser(Call& call) {
  std::optional<Caller> caller = Admit(call, kUserRead);
  if (!caller) return;
  call.Json(200, CurrentUser(call.base_url, *call.world.FindUser(caller->user)));
}

void ListEmails(Call& call) {
  std::optional<Caller> caller = Admit(call, kEmailRead);
  if (!caller) return;
  std::vector<json> values;
  for (const auto& email : call.world.FindUser(caller->user)->emails) {
    values.push_back({{"type", "email"},
                      {"email", email.email},
                      {"is_primary", email.is_primary},
                      {"is_confirmed", email.is_confirmed}});
  }
  AnswerPage(call, values);
}

// administrator=true|false and sort=slug are the only filters the API offers.
bool WorkspaceFilters(Call& call, std::optional<bool>& administrator) {
  if (auto value = call.Query("administrator")) {
    if (*value != "true" && *value != "false") {
      Error(call, 400, "administrator must be true or false");
      return false;
    }
    administrator = *value == "true";
  }
  if (auto sort = call.Query("sort"); sort && *sort != "slug") {
    Error(call, 400, "Invalid sort field: only slug is supported");
    return false;
  }
  return true;
}

void ListUserWorkspaces(Call& call) {
  std::optional<Caller> caller = Admit(call, kUserWorkspaceRead);
  std::optional<bool> administrator;
  if (!caller || !WorkspaceFilters(call, administrator)) return;
  std::vector<const Workspace*> mine;
  for (const auto& workspace : call.world.workspaces) {
    std::string permission = PermissionOf(workspace, caller->user);
    if (permission.empty()) continue;
    if (administrator && *administrator != (permission == "owner")) continue;
    mine.push_back(&workspace);
  }
  std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) { return a->slug < b->slug; });
  std::vector<json> values;
  for (const Workspace* workspace : mine) {
    values.push_back({{"type", "workspace_access"},
                      {"administrator", PermissionOf(*workspace, caller->user) == "owner"},
                      {"workspace", WorkspaceBase(call.base_url, *workspace)}});
  }
  AnswerPage(call, values);
}

// --- 2.0: other users --------------------------------------------------------------------------

const Access kProfileRead{.classic = {"account"}, .granular = {"read:user:bitbucket"}};

// Any user's public profile, named by a braced UUID (any case) or an account id: the caller's
// own object without `username`. Access tokens may read it (it is not about the caller); a bare
// UUID is 404, as on the members route.
void GetUser(Call& call) {
  std::optional<Caller> caller = Admit(call, kProfileRead);
  if (!caller) return;
  const std::string& id = call.captures[0];
  bool well_formed = id.front() == '{' ? LooksLikeUuid(id) : !LooksLikeUuid(id);
  const User* user = well_formed ? call.world.FindUser(id) : nullptr;
  if (user == nullptr) return Error(call, 404, "No user " + id);
  json profile = CurrentUser(call.base_url, *user);
  profile.erase("username");
  call.Json(200, profile);
}

// --- 2.0: workspaces ---------------------------------------------------------------------------

// 2.0 paths name a workspace by its slug or its braced UUID (any case).
Workspace* FindWorkspace20(World& world, const std::string& id) {
  if (id.empty()) return nullptr;
  if (id.front() == '{' && !LooksLikeUuid(id)) return nullptr;
  if (id.front() != '{' && LooksLikeUuid(id)) return nullptr;
  return world.FindWorkspace(id);
}

void WorkspaceNotFound(Call& call, const std::string& id) {
  Error(call, 404, "No workspace with identifier '" + id + "'.");
}

// The workspace a 2.0 path names, when the caller may see it; otherwise answers and returns
// null. A non-member gets 404, as if it did not exist. An access token bound to another
// workspace gets 403 with the mechanism message rather than 404: the token is the wrong kind of
// credential for that workspace, and saying so helps the user more than pretending it is absent.
Workspace* VisibleWorkspace(Call& call, const Caller& caller, const std::string& id) {
  Workspace* workspace = FindWorkspace20(call.world, id);
  if (workspace != nullptr && caller.access_token() && workspace->uuid != caller.workspace) {
    Error(call, 403, kWrongMechanism);
    return nullptr;
  }
  if (workspace == nullptr ||
      (!caller.access_token() && PermissionOf(*workspace, caller.user).empty())) {
    WorkspaceNotFound(call, id);
    return nullptr;
  }
  if (workspace->ip_allowlist_blocks) {
    Error(call, 403, kNotOnAllowlist);
    return nullptr;
  }
  return workspace;
}

// The spec answers 403 here when the caller has no access to an existing workspace, where the
// other workspace routes answer 404.
void GetUserPermission(Call& call) {
  std::optional<Caller> caller = Admit(call, kUserWorkspaceRead);
  if (!caller) return;
  if (Workspace* existing = FindWorkspace20(call.world, call.captures[0]);
      existing != nullptr && !caller->access_token() &&
      PermissionOf(*existing, caller->user).empty()) {
    return Error(call, 403, "You do not have access to this workspace.");
  }
  Workspace* workspace = VisibleWorkspace(call, *caller, call.captures[0]);
  if (workspace == nullptr) return;
  const User& user = *call.world.FindUser(caller->user);
  call.Json(200, Membership(call.base_url, *workspace, user, PermissionOf(*workspace, user.uuid)));
}

void GetWorkspace(Call& call) {
  std::optional<Caller> caller = Admit(call, kWorkspaceRead);
  if (!caller) return;
  Workspace* workspace = VisibleWorkspace(call, *caller, call.captures[0]);
  if (workspace != nullptr) call.Json(200, WorkspaceJson(call.base_url, *workspace));
}

// Memberships of every member whose permission `keep` accepts.
template <class Keep>
std::vector<json> Memberships(Call& call, const Workspace& workspace, Keep keep) {
  std::vector<json> values;
  for (const auto& uuid : MemberUuids(workspace)) {
    const User* user = call.world.FindUser(uuid);
    std::string permission = PermissionOf(workspace, uuid);
    if (user != nullptr && keep(permission)) {
      values.push_back(Membership(call.base_url, workspace, *user, permission));
    }
  }
  return values;
}

// Defined with the 1.0 groups below: owners, and a workspace access token of its workspace.
bool IsAdministrator(const Workspace& workspace, const Caller& caller);

// Consumes one string literal of the query language ("...", with \" and \\ escaped).
bool ConsumeQuoted(absl::string_view& text, std::string& out) {
  if (!absl::ConsumePrefix(&text, "\"")) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') {
      text.remove_prefix(i + 1);
      return true;
    }
    if (text[i] == '\\' && ++i == text.size()) return false;
    out += text[i];
  }
  return false;
}

// The addresses of `user.email IN ("a@example.com", ...)`; nullopt for any other query. Parsed
// by hand: a regex over a few thousand characters would recurse once per character.
std::optional<std::vector<std::string>> EmailFilter(absl::string_view q) {
  q = absl::StripAsciiWhitespace(q);
  if (!absl::ConsumePrefix(&q, "user.email")) return std::nullopt;
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(q);
  if (rest.size() == q.size() || !absl::ConsumePrefix(&rest, "IN")) return std::nullopt;
  rest = absl::StripLeadingAsciiWhitespace(rest);
  if (!absl::ConsumePrefix(&rest, "(")) return std::nullopt;
  std::vector<std::string> emails;
  do {
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (!ConsumeQuoted(rest, emails.emplace_back())) return std::nullopt;
    rest = absl::StripLeadingAsciiWhitespace(rest);
  } while (absl::ConsumePrefix(&rest, ","));
  if (!absl::ConsumePrefix(&rest, ")") || !rest.empty()) return std::nullopt;
  return emails;
}

bool HasAnyEmail(const User& user, const std::vector<std::string>& emails) {
  for (const auto& own : user.emails) {
    for (const auto& wanted : emails) {
      if (absl::EqualsIgnoreCase(own.email, wanted)) return true;
    }
  }
  return false;
}

// The one filter the real API offers on members: `user.email IN (...)`, at most this many
// addresses, for the workspace's administrators and its workspace access token only. Every
// refusal is 400 (the wording is ours); an address matches any of a user's e-mails, any case.
constexpr std::size_t kMaxFilteredEmails = 90;

void ListMembersByEmail(Call& call, const Workspace& workspace, const Caller& caller,
                        const std::string& q) {
  std::optional<std::vector<std::string>> emails = EmailFilter(q);
  if (!emails) return Error(call, 400, "Invalid query: members filter only by user.email IN (...)");
  if (!IsAdministrator(workspace, caller)) {
    return Error(call, 400,
                 "Filtering members by e-mail is available to workspace administrators only");
  }
  if (emails->size() > kMaxFilteredEmails) {
    return Error(call, 400, absl::StrCat("At most ", kMaxFilteredEmails, " e-mail addresses"));
  }
  std::vector<json> values;
  for (const auto& uuid : MemberUuids(workspace)) {
    const User* user = call.world.FindUser(uuid);
    if (user != nullptr && HasAnyEmail(*user, *emails)) {
      values.push_back(
          Membership(call.base_url, workspace, *user, PermissionOf(workspace, user->uuid)));
    }
  }
  AnswerPage(call, values);
}

void ListMembers(Call& call) {
  std::optional<Caller> caller = Admit(call, kMemberRead);
  if (!caller) return;
  Workspace* workspace = VisibleWorkspace(call, *caller, call.captures[0]);
  if (workspace == nullptr) return;
  if (std::optional<std::string> q = call.Query("q")) {
    return ListMembersByEmail(call, *workspace, *caller, *q);
  }
  AnswerPage(call, Memberships(call, *workspace, [](const std::string&) { return true; }));
}

// A member is named by a braced UUID (any case) or an account id.
void GetMember(Call& call) {
  std::optional<Caller> caller = Admit(call, kMemberRead);
  if (!caller) return;
  Workspace* workspace = VisibleWorkspace(call, *caller, call.captures[0]);
  if (workspace == nullptr) return;
  const std::string& id = call.captures[1];
  bool well_formed = id.front() == '{' ? LooksLikeUuid(id) : !LooksLikeUuid(id);
  const User* user = well_formed ? call.world.FindUser(id) : nullptr;
  std::string permission = user != nullptr ? PermissionOf(*workspace, user->uuid) : "";
  if (permission.empty()) {
    Error(call, 404, "No member " + id + " in workspace " + workspace->slug);
    return;
  }
  call.Json(200, Membership(call.base_url, *workspace, *user, permission));
}

// Only q=permission="owner|create-project|member" is understood.
void ListPermissions(Call& call) {
  static const std::regex kFilter(R"re(\s*permission\s*=\s*"(owner|create-project|member)"\s*)re");
  std::optional<Caller> caller = Admit(call, kMemberRead);
  if (!caller) return;
  Workspace* workspace = VisibleWorkspace(call, *caller, call.captures[0]);
  if (workspace == nullptr) return;
  std::string wanted;
  if (auto q = call.Query("q")) {
    std::smatch match;
    if (!std::regex_match(*q, match, kFilter)) {
      Error(call, 400, "Invalid query: " + *q);
      return;
    }
    wanted = match[1].str();
  }
  auto keep = [&](const std::string& permission) { return wanted.empty() || permission == wanted; };
  AnswerPage(call, Memberships(call, *workspace, keep));
}

// The cross-workspace endpoints removed under CHANGE-2770. They answer 410 before looking at
// the credentials: the functionality is gone for everyone.
void Gone(Call& call) {
  json data = {{"announcement_url", kChangelog2770}};
  call.Json(410, {{"type", "error"},
                  {"error",
                   {{"message", "CHANGE-2770 - Functionality has been deprecated"},
                    {"detail", "Please read the changelog entry for more details."},
                    {"data", data}}},
                  {"data", data}});
}

// --- 2.0: repositories --------------------------------------------------------------------------

const Access kRepositoryRead{.classic = {"repository"}, .granular = {"read:repository:bitbucket"}};

json RepositoryLinks(const std::string& base, const Workspace& workspace, const Repository& repo) {
  std::string full_name = Escape(workspace.slug) + "/" + Escape(repo.slug);
  return {{"self", Href(base + "/2.0/repositories/" + full_name)},
          {"html", Href(base + "/" + full_name)},
          {"avatar", Href(base + "/" + full_name + "/avatar/")}};
}

// The real object has more (owner, mainbranch, dates, sizes); these are what a client that
// inventories repositories reads. A repository without a project leaves `project` out.
json RepositoryJson(const std::string& base, const Workspace& workspace, const Repository& repo) {
  json ws = WorkspaceJson(base, workspace);
  ws.erase("is_private");
  json out = {{"type", "repository"},
              {"uuid", repo.uuid},
              {"slug", repo.slug},
              {"name", repo.name},
              {"full_name", workspace.slug + "/" + repo.slug},
              {"scm", "git"},
              {"is_private", true},
              {"workspace", ws},
              {"links", RepositoryLinks(base, workspace, repo)}};
  if (!repo.project.empty()) out["project"] = {{"type", "project"}, {"key", repo.project}};
  return out;
}

// The real route also filters and sorts (q, sort, role). The emulator models none of them and
// refuses them, so that a client relying on one fails here instead of reading every repository.
bool RefuseRepositoryFilters(Call& call) {
  for (const char* name : {"q", "sort", "role"}) {
    if (call.Query(name)) {
      Error(call, 400, absl::StrCat("The emulator does not model the ", name, " parameter here"));
      return true;
    }
  }
  return false;
}

// Every member sees every repository: repository permissions are not modelled. Project and
// repository access tokens are refused, because the world does not say which project or
// repository they are bound to, and listing all of them would be more than they may see.
void ListRepositories(Call& call) {
  std::optional<Caller> caller = Admit(call, kRepositoryRead);
  if (!caller) return;
  Workspace* workspace = VisibleWorkspace(call, *caller, call.captures[0]);
  if (workspace == nullptr) return;
  if (caller->access_token() && caller->credential_type != "workspace_access_token") {
    return Error(call, 403, kWrongMechanism);
  }
  if (RefuseRepositoryFilters(call)) return;
  std::vector<json> values;
  for (const Repository& repo : workspace->repositories) {
    values.push_back(RepositoryJson(call.base_url, *workspace, repo));
  }
  AnswerPage(call, values);
}

// --- 1.0: groups -------------------------------------------------------------------------------

// The workspace a 1.0 groups path names: its slug, or its braced UUID only when Options accepts
// that. Answers 404 or (IP allowlist) 403 and returns null otherwise.
Workspace* GroupWorkspace(Call& call, const std::string& id) {
  Workspace* workspace = nullptr;
  if (!id.empty() && id.front() == '{') {
    bool accept = call.world.options.group_workspace_uuid == "accept" && LooksLikeUuid(id);
    if (accept) workspace = call.world.FindWorkspace(id);
  } else {
    for (auto& candidate : call.world.workspaces) {
      if (candidate.slug == id) workspace = &candidate;
    }
  }
  if (workspace == nullptr) {
    WorkspaceNotFound(call, id);
  } else if (workspace->ip_allowlist_blocks) {
    Error(call, 403, kNotOnAllowlist);
    workspace = nullptr;
  }
  return workspace;
}

// Workspace access tokens administer their own workspace; project and repository access tokens
// are plain members of theirs, and in no group.
bool IsAdministrator(const Workspace& workspace, const Caller& caller) {
  if (caller.access_token()) {
    return caller.workspace == workspace.uuid && caller.credential_type == "workspace_access_token";
  }
  return PermissionOf(workspace, caller.user) == "owner";
}

bool IsMember(const Workspace& workspace, const Caller& caller) {
  if (caller.access_token()) return caller.workspace == workspace.uuid;
  return !PermissionOf(workspace, caller.user).empty();
}

bool RefuseNonMember(Call& call, const Workspace& workspace, const Caller& caller) {
  if (IsMember(workspace, caller)) return false;
  const char* message = "You must be a member of this workspace to view its groups.";
  Error(call, 403, caller.access_token() ? kWrongMechanism : message);
  return true;
}

// The group a read names, when the caller may read it (an administrator, or in the group).
Group* ReadableGroup(Call& call, Workspace& workspace, const Caller& caller) {
  if (RefuseNonMember(call, workspace, caller)) return nullptr;
  Group* group = call.world.FindGroup(workspace, call.captures[1]);
  if (group == nullptr) {
    Error(call, 404, "No group " + call.captures[1] + " in workspace " + workspace.slug);
    return nullptr;
  }
  if (!IsAdministrator(workspace, caller) && !InGroup(*group, caller.user)) {
    Error(call, 403, "You must be an administrator of this workspace or a member of this group.");
    return nullptr;
  }
  return group;
}

// Administrators see every group; other members see the groups they are in.
void ListGroups(Call& call) {
  std::optional<Caller> caller = Admit(call, GroupAccess(call.world.options, GroupVerb::kRead));
  if (!caller) return;
  Workspace* workspace = GroupWorkspace(call, call.captures[0]);
  if (workspace == nullptr || RefuseNonMember(call, *workspace, *caller)) return;
  bool administrator = IsAdministrator(*workspace, *caller);
  json groups = json::array();
  for (const auto& group : workspace->groups) {
    if (administrator || InGroup(group, caller->user)) {
      groups.push_back(Group10(call.world, call.base_url, *workspace, group));
    }
  }
  call.Json(200, groups);
}

void GetGroup(Call& call) {
  std::optional<Caller> caller = Admit(call, GroupAccess(call.world.options, GroupVerb::kRead));
  if (!caller) return;
  Workspace* workspace = GroupWorkspace(call, call.captures[0]);
  if (workspace == nullptr) return;
  if (Group* group = ReadableGroup(call, *workspace, *caller)) {
    call.Json(200, Group10(call.world, call.base_url, *workspace, *group));
  }
}

void ListGroupMembers(Call& call) {
  std::optional<Caller> caller = Admit(call, GroupAccess(call.world.options, GroupVerb::kRead));
  if (!caller) return;
  Workspace* workspace = GroupWorkspace(call, call.captures[0]);
  if (workspace == nullptr) return;
  Group* group = ReadableGroup(call, *workspace, *caller);
  if (group == nullptr) return;
  json members = json::array();
  for (const auto& uuid : group->members) {
    if (const User* user = call.world.FindUser(uuid))
      members.push_back(User10(call.base_url, *user));
  }
  call.Json(200, members);
}

// What a group write names, once every check before the change itself has passed.
struct GroupTarget {
  Workspace* workspace;
  Group* group;
  User* user;
};

// A member is named by a braced UUID (any case), or by an account id when Options accepts it.
User* GroupMemberUser(Call& call, const std::string& id) {
  if (!id.empty() && id.front() == '{')
    return LooksLikeUuid(id) ? call.world.FindUser(id) : nullptr;
  if (call.world.options.group_member_account_id != "accept") return nullptr;
  for (auto& user : call.world.users) {
    if (user.account_id == id) return &user;
  }
  return nullptr;
}

// The checks shared by PUT and DELETE, in the order Bitbucket is taken to apply them: the
// workspace (404, allowlist 403), writes disabled in admin.atlassian.com-administered
// workspaces (405, body "None" as observed), the caller's rights (403), the group and the user
// (404).
std::optional<GroupTarget> WritableTarget(Call& call, const Caller& caller) {
  Workspace* workspace = GroupWorkspace(call, call.captures[0]);
  if (workspace == nullptr) return std::nullopt;
  if (workspace->managed) {
    call.Text(405, "None");
    return std::nullopt;
  }
  if (!IsAdministrator(*workspace, caller)) {
    Error(call, 403,
          caller.access_token() && caller.workspace != workspace->uuid
              ? kWrongMechanism
              : "You must be an administrator of this workspace to change its groups.");
    return std::nullopt;
  }
  Group* group = call.world.FindGroup(*workspace, call.captures[1]);
  if (group == nullptr) {
    Error(call, 404, "No group " + call.captures[1] + " in workspace " + workspace->slug);
    return std::nullopt;
  }
  User* user = GroupMemberUser(call, call.captures[2]);
  if (user == nullptr) {
    Error(call, 404, "No user " + call.captures[2]);
    return std::nullopt;
  }
  return GroupTarget{workspace, group, user};
}

// The PUT takes no body or an empty JSON object, as the known clients send.
bool EmptyPutBody(const std::string& body) {
  if (absl::StripAsciiWhitespace(body).empty()) return true;
  json parsed = json::parse(body, nullptr, false);
  return !parsed.is_discarded() && parsed.is_object() && parsed.empty();
}

void AddGroupMember(Call& call) {
  std::optional<Caller> caller = Admit(call, GroupAccess(call.world.options, GroupVerb::kPut));
  if (!caller) return;
  std::optional<GroupTarget> target = WritableTarget(call, *caller);
  if (!target) return;
  if (!EmptyPutBody(call.request.body)) {
    Error(call, 400, "The request body must be empty or {}");
  } else if (PermissionOf(*target->workspace, target->user->uuid).empty()) {
    call.Text(404, "User is not a member of this workspace");
  } else if (InGroup(*target->group, target->user->uuid) &&
             call.world.options.group_add_existing == "conflict") {
    Error(call, 409, "User is already a member of group " + target->group->slug);
  } else {
    if (!InGroup(*target->group, target->user->uuid)) {
      target->group->members.push_back(target->user->uuid);
    }
    call.Json(200, User10(call.base_url, *target->user));
  }
}

void RemoveGroupMember(Call& call) {
  std::optional<Caller> caller = Admit(call, GroupAccess(call.world.options, GroupVerb::kDelete));
  if (!caller) return;
  std::optional<GroupTarget> target = WritableTarget(call, *caller);
  if (!target) return;
  if (!InGroup(*target->group, target->user->uuid)) {
    Error(call, 404, "User is not a member of group " + target->group->slug);
    return;
  }
  std::erase(target->group->members, target->user->uuid);
  call.response.status = 204;
}

// --- OAuth 2 client-credentials grant ----------------------------------------------------------

void OAuthError(Call& call, const std::string& error, const std::string& description) {
  call.Json(400, {{"error", error}, {"error_description", description}});
}

// The consumer whose client id and secret the request carries: Basic first, else form fields.
const Credential* Consumer(Call& call, const std::map<std::string, std::string>& form) {
  std::string client_id, secret;
  std::optional<std::string> header = call.RequestHeader("Authorization");
  if (header && absl::StartsWithIgnoreCase(*header, "Basic ")) {
    auto pair = DecodeBasic(std::string(absl::StripAsciiWhitespace(header->substr(6))));
    if (!pair) return nullptr;
    std::tie(client_id, secret) = *pair;
  } else {
    auto id = form.find("client_id"), given = form.find("client_secret");
    if (id == form.end() || given == form.end()) return nullptr;
    client_id = id->second;
    secret = given->second;
  }
  const Credential* consumer = BySecret(call.world, secret, {"oauth_consumer"});
  return consumer != nullptr && consumer->client_id == client_id ? consumer : nullptr;
}

std::string FreshToken() {
  std::random_device random;
  std::string token;
  for (int i = 0; i < 8; ++i) absl::StrAppend(&token, absl::Hex(random(), absl::kZeroPad8));
  return token;
}

// Stores a fresh bearer token for the consumer and answers it.
void AnswerToken(Call& call, const Credential& consumer) {
  int seconds = call.world.options.oauth_token_seconds;
  IssuedToken issued{FreshToken(), consumer.id,
                     std::chrono::steady_clock::now() + std::chrono::seconds(seconds)};
  call.world.oauth_tokens.push_back(issued);
  call.Json(200, {{"access_token", issued.token},
                  {"scopes", absl::StrJoin(consumer.scopes, " ")},
                  {"expires_in", seconds},
                  {"token_type", "bearer"},
                  {"state", "client_credentials"}});
}

// Checked in this order: a form body, the client, the grant type; all failures are 400.
void IssueToken(Call& call) {
  std::optional<std::string> type = call.RequestHeader("Content-Type");
  if (!type || !absl::StartsWithIgnoreCase(*type, "application/x-www-form-urlencoded")) {
    OAuthError(call, "invalid_request", "The request body must be form-encoded.");
    return;
  }
  std::map<std::string, std::string> form = ParseForm(call.request.body);
  const Credential* consumer = Consumer(call, form);
  if (consumer == nullptr) {
    OAuthError(call, "invalid_client", "Invalid client_id or client_secret.");
    return;
  }
  call.credential = consumer->id;
  auto grant = form.find("grant_type");
  if (grant == form.end() || grant->second != "client_credentials") {
    OAuthError(call, "unsupported_grant_type",
               "Unsupported grant type: " + (grant == form.end() ? "None" : grant->second));
    return;
  }
  AnswerToken(call, *consumer);
}

}  // namespace

void AddBitbucketRoutes(Router& router) {
  router.error = [](Call& call, int status, const std::string& message) {
    Error(call, status, message);
  };
  router.Add("POST", "/site/oauth2/access_token", IssueToken);

  router.Add("GET", "/2\\.0/user", GetCurrentUser);
  router.Add("GET", "/2\\.0/user/emails", ListEmails);
  router.Add("GET", "/2\\.0/user/workspaces", ListUserWorkspaces);
  router.Add("GET", "/2\\.0/user/workspaces/([^/]+)/permission", GetUserPermission);
  router.Add("GET", "/2\\.0/user/permissions/workspaces", Gone);
  router.Add("GET", "/2\\.0/users/([^/]+)", GetUser);
  router.Add("GET", "/2\\.0/workspaces", Gone);
  router.Add("GET", "/2\\.0/workspaces/([^/]+)", GetWorkspace);
  router.Add("GET", "/2\\.0/workspaces/([^/]+)/members", ListMembers);
  router.Add("GET", "/2\\.0/workspaces/([^/]+)/members/([^/]+)", GetMember);
  router.Add("GET", "/2\\.0/workspaces/([^/]+)/permissions", ListPermissions);
  router.Add("GET", "/2\\.0/repositories/([^/]+)", ListRepositories);

  // 1.0 paths take an optional trailing slash, as the old API did.
  router.Add("GET", "/1\\.0/groups/([^/]+)/?", ListGroups);
  router.Add("GET", "/1\\.0/groups/([^/]+)/([^/]+)/?", GetGroup);
  router.Add("GET", "/1\\.0/groups/([^/]+)/([^/]+)/members/?", ListGroupMembers);
  router.Add("PUT", "/1\\.0/groups/([^/]+)/([^/]+)/members/([^/]+)/?", AddGroupMember);
  router.Add("DELETE", "/1\\.0/groups/([^/]+)/([^/]+)/members/([^/]+)/?", RemoveGroupMember);
}

}  // namespace arnica::emulators
