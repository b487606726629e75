// The state the three emulators share: Bitbucket users, workspaces, groups, repositories and
// credentials, the Atlassian organisations that administer some workspaces, and Arnica tenants.
// It is read from a seed (JSON, the same shape ToJson writes), changed by the services' own
// write routes and by admin operations (ApplyOp), and dumped whole for tests that compare before
// and after.
//
// Identifiers are kept the way the real services render them: user, workspace and repository
// UUIDs braced and lower-case, account ids as given. Lookups accept any case and braces or none.
//
// Not thread-safe: Emulators holds one mutex for the whole world.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace arnica::emulators {

struct Email {
  std::string email;
  bool is_primary = true;
  bool is_confirmed = true;
};

struct User {
  std::string uuid;        // "{...}"
  std::string account_id;  // "557058:..."
  std::string nickname;
  std::string display_name;
  std::string username;  // the Bitbucket username, which legacy app passwords authenticate with
  std::vector<Email> emails;
};

struct Group {
  std::string slug;
  std::string name;
  std::string permission = "admin";  // read | write | admin | "" (none)
  // For workspaces administered in admin.atlassian.com: the group's id in the organisation's
  // directory (the Atlassian Admin API addresses it by this id).
  std::string org_group_id;
  std::vector<std::string> members;  // user uuids
};

struct WorkspaceMember {
  std::string user;                   // user uuid
  std::string permission = "member";  // owner | create-project | member
};

// A repository as Bitbucket lists it and Arnica ingests it.
struct Repository {
  std::string uuid;     // "{...}", unique across every workspace
  std::string slug;     // unique within its workspace
  std::string name;     // default: slug
  std::string project;  // the project's key; "" for none
};

struct Workspace {
  std::string uuid;
  std::string slug;
  std::string name;
  // Administered in admin.atlassian.com: 1.0 group writes answer 405, and membership changes go
  // through the organisation's directory.
  bool managed = false;
  std::string org_id;
  std::string directory_id;
  // An IP allowlist that the caller's address is not on: every 2.0 and 1.0 call answers 403.
  bool ip_allowlist_blocks = false;
  std::vector<WorkspaceMember> members;
  std::vector<Group> groups;
  std::vector<Repository> repositories;
};

struct Credential {
  std::string id;    // the seed's name for it, used by admin operations and the request log
  std::string kind;  // api_token | app_password | access_token | oauth_consumer
  std::string user;  // uuid of the account it acts as (not for access tokens)
  std::string secret;
  std::string client_id;            // oauth_consumer only (the secret is `secret`)
  std::string token_type;           // access_token only: workspace | project | repository
  std::string workspace;            // access_token only: the workspace slug it is bound to
  std::vector<std::string> scopes;  // granular for api_token, classic for the others
  bool revoked = false;
};

// A bearer token issued by the OAuth token endpoint; not part of the seed.
struct IssuedToken {
  std::string token;
  std::string credential_id;
  std::chrono::steady_clock::time_point expires;
};

struct Directory {
  std::string id;
  std::string name;
};

struct Org {
  std::string id;
  std::string api_key;
  bool api_key_revoked = false;
  std::vector<Directory> directories;
};

struct ArnicaToken {
  std::string token;
  std::string key_id;
  std::vector<std::string> scopes;  // inventory:read, ...
  bool revoked = false;
};

struct InventoryRepo {
  std::string id;
  std::string workspace;  // Bitbucket workspace slug
  std::string project;
  std::string name;
};

struct Integration {
  std::string id;
  std::string name;
  std::string principal;
  std::string secret;                   // kept to re-validate; never returned unmasked
  std::string status;                   // connected | invalid
  std::string reason;                   // why it is invalid
  std::vector<std::string> workspaces;  // slugs Arnica covers
};

struct Tenant {
  std::string org_id;
  std::vector<ArnicaToken> tokens;
  std::vector<InventoryRepo> inventory;
  std::vector<Integration> integrations;
};

// Behaviours the public sources leave uncertain (../shared/reference/bitbucket.md §7). Each
// defaults to the stricter choice; a seed or the set_option operation switches it.
struct Options {
  // A workspace UUID in the workspace position of a 1.0 groups path: "reject" (404, as reported
  // in 2026) or "accept".
  std::string group_workspace_uuid = "reject";
  // An account id in the member position of a 1.0 groups path: "reject" (404) or "accept".
  std::string group_member_account_id = "reject";
  // PUT of a user who is already in the group: "conflict" (409) or "ok" (200 with the user).
  std::string group_add_existing = "conflict";
  // What API tokens may do on /1.0/groups: "none" (403; the API needs account/account:write,
  // which API tokens cannot carry) or "permission_scopes" (read/write/delete:permission).
  std::string api_token_groups = "none";
  // Legacy app passwords: "removed" (401, as since 2026-07-28) or "accepted".
  std::string app_passwords = "removed";
  int max_pagelen = 100;
  int default_pagelen = 10;
  // Lifetime of bearer tokens from the OAuth token endpoint.
  int oauth_token_seconds = 7200;
};

struct World {
  std::vector<User> users;
  std::vector<Workspace> workspaces;
  std::vector<Credential> credentials;
  std::vector<Org> orgs;
  std::vector<Tenant> arnica_tenants;
  Options options;

  // Runtime only: never seeded, never dumped.
  std::vector<IssuedToken> oauth_tokens;
  int next_id = 1;

  // Lookups; null when absent. Users by uuid (any case, braces optional) or account id;
  // workspaces by slug or uuid.
  User* FindUser(std::string_view uuid_or_account_id);
  Workspace* FindWorkspace(std::string_view slug_or_uuid);
  Credential* FindCredential(std::string_view id);
  Org* FindOrg(std::string_view id);
  Tenant* FindTenantByToken(std::string_view token);
  Group* FindGroup(Workspace& workspace, std::string_view slug);
  // By slug or uuid (any case, braces optional).
  Repository* FindRepository(Workspace& workspace, std::string_view slug_or_uuid);
  const WorkspaceMember* FindMember(const Workspace& workspace, std::string_view user_uuid) const;

  // A fresh id for objects the emulators create ("int-3", ...), never one already in use.
  std::string NewId(std::string_view prefix);
};

// The seed format is ToJson's output. Unknown keys are errors, so that a typo in a seed fails
// loudly instead of seeding less than the test meant.
absl::StatusOr<World> WorldFromJson(const nlohmann::json& seed);
nlohmann::json ToJson(const World& world);

// Applies one admin operation ({"op": "...", ...}); InvalidArgument for an unknown operation or
// a missing or unknown object, with a message that names it. The operations are listed in
// docs/emulators.md.
absl::Status ApplyOp(World& world, const nlohmann::json& op);

// "{ABC-...}" / "abc-..." -> "{abc-...}"; other text unchanged.
std::string NormalizeUuid(std::string_view text);
bool LooksLikeUuid(std::string_view text);

}  // namespace arnica::emulators
