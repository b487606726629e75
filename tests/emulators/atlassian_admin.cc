// The Atlassian Organizations (Admin) API v2, as far as the provider uses it: an organisation's
// directories, the groups of a directory, and a group's memberships.
//
// A directory's groups are the workspace groups that carry an org_group_id in the managed
// workspaces bound to that org and directory. A directory group linked to several workspaces is
// one group: its members are the union of theirs, and a write changes every link. A membership
// written here is a write to Group.members, so the Bitbucket emulator's 1.0 group listing shows
// it at once.
//
// Sources: ../shared/reference/bitbucket.md §1.2 (the add and remove paths and bodies, and the
// caveat that the user must be in the same directory). The listing of a group's memberships
// (GET .../memberships) is our model: the public material we have lists only add and remove.
// docs/emulators.md says so.
#include <httplib.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/emulators/emulator.h"

namespace arnica::emulators {
namespace {

using nlohmann::json;

constexpr int kDefaultLimit = 20;
constexpr int kMaxLimit = 100;
constexpr char kCursorPrefix[] = "offset:";

const char kDirectories[] = "/admin/v2/orgs/([^/]+)/directories";
const char kGroups[] = "/admin/v2/orgs/([^/]+)/directories/([^/]+)/groups";
const char kMemberships[] = "/admin/v2/orgs/([^/]+)/directories/([^/]+)/groups/([^/]+)/memberships";

// The Admin API's error document: a list of errors, each with the status as a string.
void Error(Call& call, int status, const std::string& detail) {
  struct Name {
    int status;
    const char* code;
    const char* title;
  };
  static constexpr Name kNames[] = {{400, "BAD_REQUEST", "Bad Request"},
                                    {401, "UNAUTHORIZED", "Unauthorized"},
                                    {403, "FORBIDDEN", "Forbidden"},
                                    {404, "NOT_FOUND", "Not Found"},
                                    {405, "METHOD_NOT_ALLOWED", "Method Not Allowed"},
                                    {409, "CONFLICT", "Conflict"},
                                    {429, "TOO_MANY_REQUESTS", "Too Many Requests"}};
  Name name = {status, status >= 500 ? "INTERNAL_SERVER_ERROR" : "ERROR",
               status >= 500 ? "Server Error" : "Error"};
  for (const Name& known : kNames) {
    if (known.status == status) name = known;
  }
  json error = {{"status", std::to_string(status)}, {"code", name.code}, {"title", name.title}};
  error["detail"] = detail;
  call.Json(status, {{"errors", json::array({error})}});
}

// Checks the caller's org API key against the org in the path. A missing, unknown or revoked
// key answers 401; a valid key answers 404 for an unknown org and 403 for another org. The key
// itself never reaches the log or a response.
Org* Authorize(Call& call, const std::string& org_id) {
  std::string key;
  if (auto header = call.RequestHeader("Authorization")) {
    std::vector<std::string> parts = absl::StrSplit(*header, absl::MaxSplits(' ', 1));
    if (parts.size() == 2 && absl::EqualsIgnoreCase(parts[0], "Bearer")) key = parts[1];
  }
  Org* owner = nullptr;
  for (auto& org : call.world.orgs) {
    if (!key.empty() && org.api_key == key) owner = &org;
  }
  if (owner == nullptr || owner->api_key_revoked) {
    Error(call, 401,
          key.empty() ? "An API key is required (Authorization: Bearer <key>)."
                      : "The API key is invalid or has been revoked.");
    return nullptr;
  }
  call.credential = "org:" + owner->id;
  Org* org = call.world.FindOrg(org_id);
  if (org == nullptr) {
    Error(call, 404, "No organization " + org_id + ".");
    return nullptr;
  }
  if (org != owner) {
    Error(call, 403, "The API key does not belong to organization " + org_id + ".");
    return nullptr;
  }
  return org;
}

const Directory* FindDirectory(Call& call, const Org& org, const std::string& id) {
  for (const auto& directory : org.directories) {
    if (directory.id == id) return &directory;
  }
  Error(call, 404, "No directory " + id + " in organization " + org.id + ".");
  return nullptr;
}

// One directory group and the workspace groups that carry its id.
struct DirectoryGroup {
  std::string id;
  std::vector<std::pair<Workspace*, Group*>> links;

  const Group& first() const { return *links.front().second; }
  std::vector<std::string> Members() const {  // user uuids, each once, in link order
    std::vector<std::string> members;
    for (const auto& [workspace, group] : links) {
      for (const auto& uuid : group->members) {
        if (std::find(members.begin(), members.end(), uuid) == members.end()) {
          members.push_back(uuid);
        }
      }
    }
    return members;
  }
};

std::vector<DirectoryGroup> GroupsOf(World& world, const std::string& org_id,
                                     const std::string& directory_id) {
  std::vector<DirectoryGroup> groups;
  for (auto& workspace : world.workspaces) {
    if (!workspace.managed || workspace.org_id != org_id) continue;
    if (workspace.directory_id != directory_id) continue;
    for (auto& group : workspace.groups) {
      if (group.org_group_id.empty()) continue;
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const DirectoryGroup& g) { return g.id == group.org_group_id; });
      if (it == groups.end()) {
        groups.push_back({group.org_group_id, {}});
        it = std::prev(groups.end());
      }
      it->links.push_back({&workspace, &group});
    }
  }
  return groups;
}

// Percent-encodes everything but RFC 3986 unreserved characters (and '/' when `keep_slash`).
std::string PercentEncode(const std::string& text, bool keep_slash) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out += absl::StrCat("%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

struct Page {
  std::size_t offset = 0;
  std::size_t limit = kDefaultLimit;
};

// Reads `limit` (1..100) and the opaque `cursor`; answers 400 and returns nullopt when either
// is malformed or the cursor points past the listing.
std::optional<Page> ReadPage(Call& call, std::size_t total) {
  Page page;
  if (auto limit = call.Query("limit")) {
    int value = 0;
    if (!absl::SimpleAtoi(*limit, &value) || value < 1 || value > kMaxLimit) {
      Error(call, 400, absl::StrCat("limit must be an integer from 1 to ", kMaxLimit, "."));
      return std::nullopt;
    }
    page.limit = static_cast<std::size_t>(value);
  }
  if (auto cursor = call.Query("cursor")) {
    std::string decoded;
    bool valid = absl::WebSafeBase64Unescape(*cursor, &decoded);
    absl::string_view rest = decoded;
    if (!valid || !absl::ConsumePrefix(&rest, kCursorPrefix) ||
        !absl::SimpleAtoi(rest, &page.offset) || page.offset > total) {
      Error(call, 400, "The cursor is not valid.");
      return std::nullopt;
    }
  }
  return page;
}

// Answers `items` a page at a time: {"data": [...], "links": {"self", "next"?}}. `next` keeps
// every query parameter but the cursor and is absent on the last page.
void AnswerListing(Call& call, const json& items) {
  auto page = ReadPage(call, items.size());
  if (!page) return;
  std::string path = call.base_url + PercentEncode(call.request.path, true);
  const std::string& target = call.request.target;
  std::size_t query = target.find('?');
  json links = {{"self", query == std::string::npos ? path : path + target.substr(query)}};
  std::size_t end = std::min(items.size(), page->offset + page->limit);
  if (end < items.size()) {
    std::string next = path + "?";
    for (const auto& [key, value] : call.request.params) {
      if (key == "cursor") continue;
      absl::StrAppend(&next, PercentEncode(key, false), "=", PercentEncode(value, false), "&");
    }
    std::string cursor = absl::WebSafeBase64Escape(absl::StrCat(kCursorPrefix, end));
    links["next"] = absl::StrCat(next, "cursor=", cursor);
  }
  json data = json::array();
  for (std::size_t i = page->offset; i < end; ++i) data.push_back(items[i]);
  call.Json(200, {{"data", data}, {"links", links}});
}

// Every value of a repeatable query parameter, comma-separated lists split.
std::set<std::string> QueryList(const Call& call, const char* name) {
  std::set<std::string> values;
  for (std::size_t i = 0; i < call.request.get_param_value_count(name); ++i) {
    for (auto part : absl::StrSplit(call.request.get_param_value(name, i), ',')) {
      if (!part.empty()) values.insert(std::string(part));
    }
  }
  return values;
}

void ListDirectories(Call& call) {
  Org* org = Authorize(call, call.captures[0]);
  if (org == nullptr) return;
  json items = json::array();
  for (const auto& directory : org->directories) {
    items.push_back({{"directoryId", directory.id}, {"name", directory.name}});
  }
  AnswerListing(call, items);
}

bool MatchesFilters(Call& call, const DirectoryGroup& group) {
  if (auto term = call.Query("searchTerm")) {
    std::string name = absl::AsciiStrToLower(group.first().name);
    if (!absl::StrContains(name, absl::AsciiStrToLower(*term))) return false;
  }
  std::set<std::string> accounts = QueryList(call, "accountIds");
  if (accounts.empty()) return true;
  for (const auto& uuid : group.Members()) {
    const User* user = call.world.FindUser(uuid);
    if (user != nullptr && accounts.count(user->account_id)) return true;
  }
  return false;
}

// The description is ours: workspace groups carry none, so it names the workspaces they are in.
std::string DescriptionOf(const DirectoryGroup& group) {
  std::string description = "Bitbucket group of";
  for (const auto& [workspace, linked] : group.links) {
    absl::StrAppend(&description, " ", workspace->slug, "/", linked->slug);
  }
  return description;
}

void ListGroups(Call& call) {
  Org* org = Authorize(call, call.captures[0]);
  if (org == nullptr || FindDirectory(call, *org, call.captures[1]) == nullptr) return;
  json items = json::array();
  for (const auto& group : GroupsOf(call.world, org->id, call.captures[1])) {
    if (!MatchesFilters(call, group)) continue;
    items.push_back({{"groupId", group.id},
                     {"name", group.first().name},
                     {"description", DescriptionOf(group)}});
  }
  AnswerListing(call, items);
}

// Authorizes the call and finds the group of the path (captures org, directory, group); answers
// 401/403/404 and returns nullopt otherwise.
std::optional<DirectoryGroup> FindGroup(Call& call) {
  Org* org = Authorize(call, call.captures[0]);
  if (org == nullptr || FindDirectory(call, *org, call.captures[1]) == nullptr) {
    return std::nullopt;
  }
  for (auto& group : GroupsOf(call.world, org->id, call.captures[1])) {
    if (group.id == call.captures[2]) return group;
  }
  Error(call, 404, "No group " + call.captures[2] + " in directory " + call.captures[1] + ".");
  return std::nullopt;
}

User* FindAccount(World& world, const std::string& account_id) {
  for (auto& user : world.users) {
    if (user.account_id == account_id) return &user;
  }
  return nullptr;
}

json MembershipOf(const User& user) {
  json out = {{"accountId", user.account_id}, {"name", user.display_name}};
  for (const auto& email : user.emails) {
    if (email.is_primary) out["email"] = email.email;
  }
  return out;
}

// Our model of the membership listing (see the file comment).
void ListMemberships(Call& call) {
  auto group = FindGroup(call);
  if (!group) return;
  json items = json::array();
  for (const auto& uuid : group->Members()) {
    if (const User* user = call.world.FindUser(uuid)) items.push_back(MembershipOf(*user));
  }
  AnswerListing(call, items);
}

// The account must be in the group's directory: here, a member of every workspace the group is
// linked to. Answers 404 otherwise.
bool InDirectoryOf(Call& call, const DirectoryGroup& group, const User& user) {
  for (const auto& [workspace, linked] : group.links) {
    if (call.world.FindMember(*workspace, user.uuid) == nullptr) {
      Error(call, 404,
            "The user must be in the same directory as the group (account " + user.account_id +
                " is not in workspace " + workspace->slug + ").");
      return false;
    }
  }
  return true;
}

// A second add answers 409; the sources do not say, so this is the strict choice.
void AddMembership(Call& call) {
  auto group = FindGroup(call);
  if (!group) return;
  json body = json::parse(call.request.body, nullptr, false);
  if (!body.is_object() || !body.contains("accountId") || !body["accountId"].is_string() ||
      body["accountId"].get<std::string>().empty()) {
    Error(call, 400, "The body must be a JSON object with a string \"accountId\".");
    return;
  }
  std::string account_id = body["accountId"];
  User* user = FindAccount(call.world, account_id);
  if (user == nullptr) {
    Error(call, 404, "No account " + account_id + ".");
    return;
  }
  if (!InDirectoryOf(call, *group, *user)) return;
  std::vector<std::string> members = group->Members();
  if (std::find(members.begin(), members.end(), user->uuid) != members.end()) {
    Error(call, 409, "Account " + account_id + " is already a member of group " + group->id + ".");
    return;
  }
  for (auto& [workspace, linked] : group->links) linked->members.push_back(user->uuid);
  call.Json(200, json::object());
}

void RemoveMembership(Call& call) {
  auto group = FindGroup(call);
  if (!group) return;
  const std::string& account_id = call.captures[3];
  User* user = FindAccount(call.world, account_id);
  std::vector<std::string> members = group->Members();
  if (user == nullptr || std::find(members.begin(), members.end(), user->uuid) == members.end()) {
    Error(call, 404, "Account " + account_id + " is not a member of group " + group->id + ".");
    return;
  }
  for (auto& [workspace, linked] : group->links) std::erase(linked->members, user->uuid);
  call.response.status = 204;
}

}  // namespace

void AddAtlassianAdminRoutes(Router& router) {
  router.error = Error;
  router.Add("GET", kDirectories, ListDirectories);
  router.Add("GET", kGroups, ListGroups);
  router.Add("GET", kMemberships, ListMemberships);
  router.Add("POST", kMemberships, AddMembership);
  router.Add("DELETE", absl::StrCat(kMemberships, "/([^/]+)"), RemoveMembership);
}

}  // namespace arnica::emulators
