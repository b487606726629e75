#include "provider/resources/scopes.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

namespace arnica::resources {
namespace {

// Every scope name in Bitbucket's 2.0 spec and scope pages (../shared/reference/bitbucket.md
// §2.3), by spelling.
constexpr std::string_view kGranular[] = {
    "read:repository:bitbucket",   "write:repository:bitbucket",  "admin:repository:bitbucket",
    "delete:repository:bitbucket", "read:pullrequest:bitbucket",  "write:pullrequest:bitbucket",
    "read:project:bitbucket",      "admin:project:bitbucket",     "read:workspace:bitbucket",
    "admin:workspace:bitbucket",   "read:user:bitbucket",         "write:user:bitbucket",
    "read:pipeline:bitbucket",     "write:pipeline:bitbucket",    "admin:pipeline:bitbucket",
    "read:runner:bitbucket",       "write:runner:bitbucket",      "read:issue:bitbucket",
    "write:issue:bitbucket",       "delete:issue:bitbucket",      "read:webhook:bitbucket",
    "write:webhook:bitbucket",     "delete:webhook:bitbucket",    "read:snippet:bitbucket",
    "write:snippet:bitbucket",     "delete:snippet:bitbucket",    "read:ssh-key:bitbucket",
    "write:ssh-key:bitbucket",     "delete:ssh-key:bitbucket",    "read:gpg-key:bitbucket",
    "write:gpg-key:bitbucket",     "delete:gpg-key:bitbucket",    "read:permission:bitbucket",
    "write:permission:bitbucket",  "delete:permission:bitbucket",
};

constexpr std::string_view kClassic[] = {
    "account",
    "account:write",
    "email",
    "team",
    "team:write",
    "repository",
    "repository:write",
    "repository:admin",
    "repository:delete",
    "pullrequest",
    "pullrequest:write",
    "project",
    "project:write",
    "project:admin",
    "pipeline",
    "pipeline:write",
    "pipeline:variable",
    "runner",
    "runner:write",
    "webhook",
    "issue",
    "issue:write",
    "snippet",
    "snippet:write",
    "wiki",
};

// Classic -> granular, where one name answers for the other (the hints in diagnostics).
const std::map<std::string_view, std::string_view>& ClassicToGranular() {
  static const auto* map = new std::map<std::string_view, std::string_view>{
      {"account", "read:user:bitbucket"},
      {"account:write", "write:user:bitbucket"},
      {"team", "read:workspace:bitbucket"},
      {"team:write", "admin:workspace:bitbucket"},
      {"repository", "read:repository:bitbucket"},
      {"repository:write", "write:repository:bitbucket"},
      {"repository:admin", "admin:repository:bitbucket"},
      {"repository:delete", "delete:repository:bitbucket"},
      {"pullrequest", "read:pullrequest:bitbucket"},
      {"pullrequest:write", "write:pullrequest:bitbucket"},
      {"project", "read:project:bitbucket"},
      {"project:admin", "admin:project:bitbucket"},
      {"pipeline", "read:pipeline:bitbucket"},
      {"pipeline:write", "write:pipeline:bitbucket"},
      {"runner", "read:runner:bitbucket"},
      {"runner:write", "write:runner:bitbucket"},
      {"webhook", "read:webhook:bitbucket"},
      {"issue", "read:issue:bitbucket"},
      {"issue:write", "write:issue:bitbucket"},
      {"snippet", "read:snippet:bitbucket"},
      {"snippet:write", "write:snippet:bitbucket"},
  };
  return *map;
}

bool Contains(const auto& range, std::string_view value) {
  return std::find(std::begin(range), std::end(range), value) != std::end(range);
}

// Classic `x:write` and `x:admin` include `x`; nothing else includes another scope (not
// `repository:delete`, not `pipeline:variable`, and no granular name).
bool Covers(std::string_view kind, std::string_view held, std::string_view wanted) {
  if (held == wanted) return true;
  if (UsesGranularScopes(kind)) return false;
  std::string read(wanted);
  return held == read + ":write" || held == read + ":admin";
}

}  // namespace

bool IsCredentialKind(std::string_view kind) {
  return kind == kKindApiToken || kind == kKindAccessToken || kind == kKindAppPassword;
}

bool UsesGranularScopes(std::string_view kind) { return kind == kKindApiToken; }

const std::vector<ScopeNeed>& ArnicaScopeNeeds() {
  static const auto* needs = new std::vector<ScopeNeed>{
      {.purpose = "Identify the account the credential acts for (this resource's check and "
                  "Arnica's Validate call GET /2.0/user)",
       .granular = {"read:user:bitbucket"},
       .classic = {"account"},
       .account_level = true},
      {.purpose = "Discover the account's workspaces and read their members and groups",
       .granular = {"read:workspace:bitbucket"},
       .classic = {"team"},
       .account_level = true},
      {.purpose = "Read projects", .granular = {"read:project:bitbucket"}, .classic = {"project"}},
      {.purpose = "Read repositories and their code, for scanning",
       .granular = {"read:repository:bitbucket"},
       .classic = {"repository"}},
      {.purpose = "Read pull requests and comment on them with findings",
       .granular = {"read:pullrequest:bitbucket", "write:pullrequest:bitbucket"},
       .classic = {"pullrequest:write"}},
      {.purpose = "Keep the webhooks that tell Arnica about pushes and pull requests",
       .granular = {"read:webhook:bitbucket", "write:webhook:bitbucket",
                    "delete:webhook:bitbucket"},
       .classic = {"webhook"}},
  };
  return *needs;
}

std::vector<std::string> DefaultScopes(std::string_view kind) {
  std::vector<std::string> scopes;
  if (!IsCredentialKind(kind)) return scopes;
  for (const ScopeNeed& need : ArnicaScopeNeeds()) {
    if (need.account_level && kind == kKindAccessToken) continue;
    for (std::string_view scope : UsesGranularScopes(kind) ? need.granular : need.classic) {
      scopes.emplace_back(scope);
    }
  }
  return scopes;
}

std::string_view IdentityScope(std::string_view kind) {
  if (kind == kKindApiToken) return "read:user:bitbucket";
  if (kind == kKindAppPassword) return "account";
  return "";
}

bool IsKnownScope(std::string_view kind, std::string_view scope) {
  return UsesGranularScopes(kind) ? Contains(kGranular, scope) : Contains(kClassic, scope);
}

std::optional<std::string> OtherSpelling(std::string_view scope) {
  for (const auto& [classic, granular] : ClassicToGranular()) {
    if (scope == classic) return std::string(granular);
    if (scope == granular) return std::string(classic);
  }
  return std::nullopt;
}

ScopeComparison CompareScopes(std::string_view kind, const std::vector<std::string>& granted,
                              const std::vector<std::string>& required) {
  ScopeComparison out;
  std::set<std::string> seen;
  for (const std::string& want : required) {
    if (!seen.insert(want).second) continue;
    bool held = std::any_of(granted.begin(), granted.end(),
                            [&](const std::string& g) { return Covers(kind, g, want); });
    if (!held) out.missing.push_back(want);
  }
  seen.clear();
  for (const std::string& have : granted) {
    if (!seen.insert(have).second) continue;
    bool needed = std::any_of(required.begin(), required.end(),
                              [&](const std::string& r) { return Covers(kind, r, have); });
    if (!needed) out.extra.push_back(have);
  }
  return out;
}

}  // namespace arnica::resources
