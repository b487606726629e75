#include "tests/emulators/world.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace arnica::emulators {
namespace {

using nlohmann::json;

// Seed errors travel as this exception inside this file only; WorldFromJson and ApplyOp turn
// it into a Status.
struct SeedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Every seed type reads with Parse and writes with Dump; declared first so that the templates
// below find them all.
#define ARNICA_SEED_TYPE(T)                                    \
  void Parse(const json& j, const std::string& where, T& out); \
  json Dump(const T& value);
ARNICA_SEED_TYPE(Email)
ARNICA_SEED_TYPE(User)
ARNICA_SEED_TYPE(Group)
ARNICA_SEED_TYPE(WorkspaceMember)
ARNICA_SEED_TYPE(Repository)
ARNICA_SEED_TYPE(Workspace)
ARNICA_SEED_TYPE(Credential)
ARNICA_SEED_TYPE(Directory)
ARNICA_SEED_TYPE(Org)
ARNICA_SEED_TYPE(ArnicaToken)
ARNICA_SEED_TYPE(InventoryRepo)
ARNICA_SEED_TYPE(Integration)
ARNICA_SEED_TYPE(Tenant)
ARNICA_SEED_TYPE(Options)
void Parse(const json& j, const std::string& where, World& out);
#undef ARNICA_SEED_TYPE

// Reads one JSON object field by field and refuses keys nobody read.
class Reader {
 public:
  Reader(const json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) throw SeedError(where_ + ": expected an object");
  }

  template <class T>
  void Required(const char* key, T& out) {
    if (!object_.contains(key)) throw SeedError(absl::StrCat(where_, ": missing \"", key, "\""));
    Optional(key, out);
  }

  template <class T>
  void Optional(const char* key, T& out) {
    seen_.insert(key);
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return;
    Read(*it, absl::StrCat(where_, ".", key), out);
  }

  void Done() const {
    for (const auto& [key, value] : object_.items()) {
      if (!seen_.count(key)) throw SeedError(absl::StrCat(where_, ": unknown key \"", key, "\""));
    }
  }

 private:
  static void Read(const json& value, const std::string& where, std::string& out) {
    if (!value.is_string()) throw SeedError(where + ": expected a string");
    out = value.get<std::string>();
  }
  static void Read(const json& value, const std::string& where, bool& out) {
    if (!value.is_boolean()) throw SeedError(where + ": expected true or false");
    out = value.get<bool>();
  }
  static void Read(const json& value, const std::string& where, int& out) {
    if (!value.is_number_integer()) throw SeedError(where + ": expected an integer");
    if (value.is_number_unsigned()
            ? value.get<uint64_t>() > INT32_MAX
            : value.get<int64_t>() < INT32_MIN || value.get<int64_t>() > INT32_MAX) {
      throw SeedError(where + ": out of range");
    }
    out = value.get<int>();
  }
  template <class T>
  static void Read(const json& value, const std::string& where, std::vector<T>& out) {
    if (!value.is_array()) throw SeedError(where + ": expected an array");
    out.clear();
    for (std::size_t i = 0; i < value.size(); ++i) {
      T item{};
      Read(value[i], absl::StrCat(where, "[", i, "]"), item);
      out.push_back(std::move(item));
    }
  }
  template <class T>
  requires std::is_class_v<T>
  static void Read(const json& value, const std::string& where, T& out) {
    Parse(value, where, out);
  }

  const json& object_;
  std::string where_;
  std::set<std::string> seen_;
};

void Parse(const json& j, const std::string& where, Email& e) {
  Reader r(j, where);
  r.Required("email", e.email);
  r.Optional("is_primary", e.is_primary);
  r.Optional("is_confirmed", e.is_confirmed);
  r.Done();
}

void Parse(const json& j, const std::string& where, User& u) {
  Reader r(j, where);
  r.Required("uuid", u.uuid);
  r.Required("account_id", u.account_id);
  r.Optional("nickname", u.nickname);
  r.Optional("display_name", u.display_name);
  r.Optional("username", u.username);
  r.Optional("emails", u.emails);
  r.Done();
  if (!LooksLikeUuid(u.uuid)) throw SeedError(where + ".uuid: not a UUID");
  u.uuid = NormalizeUuid(u.uuid);
  if (u.nickname.empty()) u.nickname = u.username;
  if (u.display_name.empty()) u.display_name = u.nickname;
}

void Parse(const json& j, const std::string& where, Group& g) {
  Reader r(j, where);
  r.Required("slug", g.slug);
  r.Optional("name", g.name);
  r.Optional("permission", g.permission);
  r.Optional("org_group_id", g.org_group_id);
  r.Optional("members", g.members);
  r.Done();
  if (g.name.empty()) g.name = g.slug;
  for (auto& member : g.members) member = NormalizeUuid(member);
}

void Parse(const json& j, const std::string& where, WorkspaceMember& m) {
  Reader r(j, where);
  r.Required("user", m.user);
  r.Optional("permission", m.permission);
  r.Done();
  m.user = NormalizeUuid(m.user);
}

void Parse(const json& j, const std::string& where, Repository& repo) {
  Reader r(j, where);
  r.Required("uuid", repo.uuid);
  r.Required("slug", repo.slug);
  r.Optional("name", repo.name);
  r.Optional("project", repo.project);
  r.Done();
  if (!LooksLikeUuid(repo.uuid)) throw SeedError(where + ".uuid: not a UUID");
  repo.uuid = NormalizeUuid(repo.uuid);
  if (repo.name.empty()) repo.name = repo.slug;
}

void Parse(const json& j, const std::string& where, Workspace& w) {
  Reader r(j, where);
  r.Required("uuid", w.uuid);
  r.Required("slug", w.slug);
  r.Optional("name", w.name);
  r.Optional("managed", w.managed);
  r.Optional("org_id", w.org_id);
  r.Optional("directory_id", w.directory_id);
  r.Optional("ip_allowlist_blocks", w.ip_allowlist_blocks);
  r.Optional("members", w.members);
  r.Optional("groups", w.groups);
  r.Optional("repositories", w.repositories);
  r.Done();
  if (!LooksLikeUuid(w.uuid)) throw SeedError(where + ".uuid: not a UUID");
  w.uuid = NormalizeUuid(w.uuid);
  if (w.name.empty()) w.name = w.slug;
  if (w.managed && (w.org_id.empty() || w.directory_id.empty())) {
    throw SeedError(where + ": a managed workspace needs org_id and directory_id");
  }
}

void Parse(const json& j, const std::string& where, Credential& c) {
  Reader r(j, where);
  r.Required("id", c.id);
  r.Required("kind", c.kind);
  r.Optional("user", c.user);
  r.Required("secret", c.secret);
  r.Optional("client_id", c.client_id);
  r.Optional("token_type", c.token_type);
  r.Optional("workspace", c.workspace);
  r.Optional("scopes", c.scopes);
  r.Optional("revoked", c.revoked);
  r.Done();
  static const std::set<std::string> kKinds = {"api_token", "app_password", "access_token",
                                               "oauth_consumer"};
  if (!kKinds.count(c.kind)) throw SeedError(where + ".kind: unknown credential kind " + c.kind);
  if (c.kind == "access_token") {
    if (c.workspace.empty()) throw SeedError(where + ": an access token needs a workspace");
    if (c.token_type.empty()) c.token_type = "workspace";
  } else if (c.user.empty()) {
    throw SeedError(where + ": a " + c.kind + " needs the uuid of its user");
  } else {
    c.user = NormalizeUuid(c.user);
  }
  if (c.kind == "oauth_consumer" && c.client_id.empty()) {
    throw SeedError(where + ": an oauth_consumer needs a client_id");
  }
}

void Parse(const json& j, const std::string& where, Directory& d) {
  Reader r(j, where);
  r.Required("id", d.id);
  r.Optional("name", d.name);
  r.Done();
}

void Parse(const json& j, const std::string& where, Org& o) {
  Reader r(j, where);
  r.Required("id", o.id);
  r.Required("api_key", o.api_key);
  r.Optional("api_key_revoked", o.api_key_revoked);
  r.Optional("directories", o.directories);
  r.Done();
}

void Parse(const json& j, const std::string& where, ArnicaToken& t) {
  Reader r(j, where);
  r.Required("token", t.token);
  r.Required("key_id", t.key_id);
  r.Optional("scopes", t.scopes);
  r.Optional("revoked", t.revoked);
  r.Done();
}

void Parse(const json& j, const std::string& where, InventoryRepo& repo) {
  Reader r(j, where);
  r.Required("id", repo.id);
  r.Required("workspace", repo.workspace);
  r.Optional("project", repo.project);
  r.Required("name", repo.name);
  r.Done();
}

void Parse(const json& j, const std::string& where, Integration& i) {
  Reader r(j, where);
  r.Required("id", i.id);
  r.Optional("name", i.name);
  r.Required("principal", i.principal);
  r.Required("secret", i.secret);
  r.Optional("status", i.status);
  r.Optional("reason", i.reason);
  r.Optional("workspaces", i.workspaces);
  r.Done();
}

void Parse(const json& j, const std::string& where, Tenant& t) {
  Reader r(j, where);
  r.Required("org_id", t.org_id);
  r.Optional("tokens", t.tokens);
  r.Optional("inventory", t.inventory);
  r.Optional("integrations", t.integrations);
  r.Done();
}

void OneOf(const std::string& value, std::initializer_list<const char*> allowed,
           const std::string& where) {
  for (const char* choice : allowed) {
    if (value == choice) return;
  }
  throw SeedError(where + ": unknown choice \"" + value + "\"");
}

void Parse(const json& j, const std::string& where, Options& o) {
  Reader r(j, where);
  r.Optional("group_workspace_uuid", o.group_workspace_uuid);
  r.Optional("group_member_account_id", o.group_member_account_id);
  r.Optional("group_add_existing", o.group_add_existing);
  r.Optional("api_token_groups", o.api_token_groups);
  r.Optional("app_passwords", o.app_passwords);
  r.Optional("max_pagelen", o.max_pagelen);
  r.Optional("default_pagelen", o.default_pagelen);
  r.Optional("oauth_token_seconds", o.oauth_token_seconds);
  r.Done();
  OneOf(o.group_workspace_uuid, {"reject", "accept"}, where + ".group_workspace_uuid");
  OneOf(o.group_member_account_id, {"reject", "accept"}, where + ".group_member_account_id");
  OneOf(o.group_add_existing, {"conflict", "ok"}, where + ".group_add_existing");
  OneOf(o.api_token_groups, {"none", "permission_scopes"}, where + ".api_token_groups");
  OneOf(o.app_passwords, {"removed", "accepted"}, where + ".app_passwords");
  if (o.max_pagelen > 1000 || o.default_pagelen < 1 || o.default_pagelen > o.max_pagelen) {
    throw SeedError(where +
                    ": page lengths must satisfy 1 <= default_pagelen <= max_pagelen <= 1000");
  }
  if (o.oauth_token_seconds < 0 || o.oauth_token_seconds > 31536000) {
    throw SeedError(where +
                    ".oauth_token_seconds: must be from 0 (issued expired) to 31536000 (a year)");
  }
}

void Parse(const json& j, const std::string& where, World& w) {
  Reader r(j, where);
  r.Optional("users", w.users);
  r.Optional("workspaces", w.workspaces);
  r.Optional("credentials", w.credentials);
  r.Optional("orgs", w.orgs);
  r.Optional("arnica_tenants", w.arnica_tenants);
  r.Optional("options", w.options);
  r.Done();
}

json Dump(const Email& e) {
  return {{"email", e.email}, {"is_primary", e.is_primary}, {"is_confirmed", e.is_confirmed}};
}

template <class T>
json DumpAll(const std::vector<T>& items) {
  json out = json::array();
  for (const auto& item : items) out.push_back(Dump(item));
  return out;
}

json Dump(const User& u) {
  return {{"uuid", u.uuid},         {"account_id", u.account_id},
          {"nickname", u.nickname}, {"display_name", u.display_name},
          {"username", u.username}, {"emails", DumpAll(u.emails)}};
}

json Dump(const Group& g) {
  return {{"slug", g.slug},
          {"name", g.name},
          {"permission", g.permission},
          {"org_group_id", g.org_group_id},
          {"members", g.members}};
}

json Dump(const WorkspaceMember& m) { return {{"user", m.user}, {"permission", m.permission}}; }

json Dump(const Repository& r) {
  return {{"uuid", r.uuid}, {"slug", r.slug}, {"name", r.name}, {"project", r.project}};
}

json Dump(const Workspace& w) {
  return {{"uuid", w.uuid},
          {"slug", w.slug},
          {"name", w.name},
          {"managed", w.managed},
          {"org_id", w.org_id},
          {"directory_id", w.directory_id},
          {"ip_allowlist_blocks", w.ip_allowlist_blocks},
          {"members", DumpAll(w.members)},
          {"groups", DumpAll(w.groups)},
          {"repositories", DumpAll(w.repositories)}};
}

json Dump(const Credential& c) {
  return {{"id", c.id},
          {"kind", c.kind},
          {"user", c.user},
          {"secret", c.secret},
          {"client_id", c.client_id},
          {"token_type", c.token_type},
          {"workspace", c.workspace},
          {"scopes", c.scopes},
          {"revoked", c.revoked}};
}

json Dump(const Directory& d) { return {{"id", d.id}, {"name", d.name}}; }

json Dump(const Org& o) {
  return {{"id", o.id},
          {"api_key", o.api_key},
          {"api_key_revoked", o.api_key_revoked},
          {"directories", DumpAll(o.directories)}};
}

json Dump(const ArnicaToken& t) {
  return {{"token", t.token}, {"key_id", t.key_id}, {"scopes", t.scopes}, {"revoked", t.revoked}};
}

json Dump(const InventoryRepo& r) {
  return {{"id", r.id}, {"workspace", r.workspace}, {"project", r.project}, {"name", r.name}};
}

json Dump(const Integration& i) {
  return {
      {"id", i.id},         {"name", i.name},     {"principal", i.principal},  {"secret", i.secret},
      {"status", i.status}, {"reason", i.reason}, {"workspaces", i.workspaces}};
}

json Dump(const Tenant& t) {
  return {{"org_id", t.org_id},
          {"tokens", DumpAll(t.tokens)},
          {"inventory", DumpAll(t.inventory)},
          {"integrations", DumpAll(t.integrations)}};
}

json Dump(const Options& o) {
  return {{"group_workspace_uuid", o.group_workspace_uuid},
          {"group_member_account_id", o.group_member_account_id},
          {"group_add_existing", o.group_add_existing},
          {"api_token_groups", o.api_token_groups},
          {"app_passwords", o.app_passwords},
          {"max_pagelen", o.max_pagelen},
          {"default_pagelen", o.default_pagelen},
          {"oauth_token_seconds", o.oauth_token_seconds}};
}

// --- Admin operations ------------------------------------------------------------------------

// The operation's name for messages, whatever "op" holds.
std::string OpName(const json& op) {
  auto it = op.find("op");
  return it != op.end() && it->is_string() ? it->get<std::string>() : "operation";
}

std::string Str(const json& op, const char* key) {
  auto it = op.find(key);
  if (it == op.end() || !it->is_string()) {
    throw SeedError(absl::StrCat(OpName(op), ": needs \"", key, "\" (a string)"));
  }
  return it->get<std::string>();
}

bool Bool(const json& op, const char* key, bool fallback) {
  auto it = op.find(key);
  if (it == op.end()) return fallback;
  if (!it->is_boolean())
    throw SeedError(absl::StrCat(OpName(op), ": \"", key, "\" is true or false"));
  return it->get<bool>();
}

// The keys each operation takes besides "op"; any other key is refused, so that a typo never
// quietly means the default.
const std::map<std::string, std::set<std::string>>& OpKeys() {
  static const auto* keys = new std::map<std::string, std::set<std::string>>{
      {"add_user", {"value"}},
      {"add_workspace", {"value"}},
      {"remove_workspace", {"workspace"}},
      {"add_workspace_member", {"workspace", "user", "permission"}},
      {"remove_workspace_member", {"workspace", "user"}},
      {"add_group_member", {"workspace", "group", "user"}},
      {"remove_group_member", {"workspace", "group", "user"}},
      {"remove_group", {"workspace", "group"}},
      {"set_ip_allowlist", {"workspace", "blocks"}},
      {"add_repository", {"workspace", "value"}},
      {"remove_repository", {"workspace", "repository"}},
      {"add_credential", {"value"}},
      {"revoke_credential", {"credential"}},
      {"set_scopes", {"credential", "scopes"}},
      {"expire_oauth_tokens", {}},
      {"revoke_org_key", {"org"}},
      {"revoke_arnica_token", {"org", "key_id"}},
      {"remove_integration", {"org", "id"}},
      {"remove_inventory", {"org", "workspace"}},
      {"add_inventory_repo", {"org", "value"}},
      {"set_option", {"name", "value"}},
  };
  return *keys;
}

void CheckOpKeys(const json& op) {
  std::string name = Str(op, "op");
  auto known = OpKeys().find(name);
  if (known == OpKeys().end()) throw SeedError("unknown operation " + name);
  for (const auto& [key, value] : op.items()) {
    if (key != "op" && !known->second.count(key)) {
      throw SeedError(absl::StrCat(name, ": unknown key \"", key, "\""));
    }
  }
}

json Needed(const json& op, const char* key) {
  auto it = op.find(key);
  if (it == op.end()) throw SeedError(absl::StrCat(OpName(op), ": needs \"", key, "\""));
  return *it;
}

Workspace& NeedWorkspace(World& w, const json& op) {
  std::string slug = Str(op, "workspace");
  if (Workspace* found = w.FindWorkspace(slug)) return *found;
  throw SeedError("no workspace " + slug);
}

User& NeedUser(World& w, const json& op) {
  std::string id = Str(op, "user");
  if (User* found = w.FindUser(id)) return *found;
  throw SeedError("no user " + id);
}

Group& NeedGroup(World& w, Workspace& workspace, const json& op) {
  std::string slug = Str(op, "group");
  if (Group* found = w.FindGroup(workspace, slug)) return *found;
  throw SeedError("no group " + slug + " in workspace " + workspace.slug);
}

Credential& NeedCredential(World& w, const json& op) {
  std::string id = Str(op, "credential");
  if (Credential* found = w.FindCredential(id)) return *found;
  throw SeedError("no credential " + id);
}

Tenant& NeedTenant(World& w, const json& op) {
  std::string org = Str(op, "org");
  for (auto& tenant : w.arnica_tenants) {
    if (tenant.org_id == org) return tenant;
  }
  throw SeedError("no Arnica tenant " + org);
}

template <class T, class Pred>
bool EraseIf(std::vector<T>& items, Pred pred) {
  auto before = items.size();
  std::erase_if(items, pred);
  return items.size() != before;
}

void ApplyOne(World& w, const json& op) {
  CheckOpKeys(op);
  std::string name = Str(op, "op");
  if (name == "add_user") {
    User user;
    Parse(Needed(op, "value"), "add_user.value", user);
    if (w.FindUser(user.uuid)) throw SeedError("user " + user.uuid + " exists");
    w.users.push_back(std::move(user));
  } else if (name == "add_workspace") {
    Workspace workspace;
    Parse(Needed(op, "value"), "add_workspace.value", workspace);
    if (w.FindWorkspace(workspace.slug)) throw SeedError("workspace " + workspace.slug + " exists");
    w.workspaces.push_back(std::move(workspace));
  } else if (name == "remove_workspace") {
    std::string slug = NeedWorkspace(w, op).slug;
    EraseIf(w.workspaces, [&](const Workspace& x) { return x.slug == slug; });
  } else if (name == "add_workspace_member") {
    Workspace& workspace = NeedWorkspace(w, op);
    User& user = NeedUser(w, op);
    if (w.FindMember(workspace, user.uuid)) throw SeedError("already a member");
    std::string permission = op.contains("permission") ? Str(op, "permission") : "member";
    workspace.members.push_back({user.uuid, permission});
  } else if (name == "remove_workspace_member") {
    Workspace& workspace = NeedWorkspace(w, op);
    std::string uuid = NeedUser(w, op).uuid;
    if (!EraseIf(workspace.members, [&](const auto& m) { return m.user == uuid; })) {
      throw SeedError("not a member of " + workspace.slug);
    }
    for (auto& group : workspace.groups) std::erase(group.members, uuid);
  } else if (name == "add_group_member" || name == "remove_group_member") {
    Workspace& workspace = NeedWorkspace(w, op);
    Group& group = NeedGroup(w, workspace, op);
    std::string uuid = NeedUser(w, op).uuid;
    bool present = std::count(group.members.begin(), group.members.end(), uuid) > 0;
    if (name == "add_group_member") {
      if (present) throw SeedError("already in group " + group.slug);
      group.members.push_back(uuid);
    } else {
      if (!present) throw SeedError("not in group " + group.slug);
      std::erase(group.members, uuid);
    }
  } else if (name == "remove_group") {
    Workspace& workspace = NeedWorkspace(w, op);
    std::string slug = NeedGroup(w, workspace, op).slug;
    EraseIf(workspace.groups, [&](const Group& g) { return g.slug == slug; });
  } else if (name == "add_repository") {
    Workspace& workspace = NeedWorkspace(w, op);
    Repository repo;
    Parse(Needed(op, "value"), "add_repository.value", repo);
    workspace.repositories.push_back(std::move(repo));  // duplicates: CheckConsistent refuses
  } else if (name == "remove_repository") {
    Workspace& workspace = NeedWorkspace(w, op);
    std::string id = Str(op, "repository");
    Repository* repo = w.FindRepository(workspace, id);
    if (repo == nullptr) throw SeedError("no repository " + id + " in workspace " + workspace.slug);
    std::string uuid = repo->uuid;
    EraseIf(workspace.repositories, [&](const Repository& r) { return r.uuid == uuid; });
  } else if (name == "set_ip_allowlist") {
    NeedWorkspace(w, op).ip_allowlist_blocks = Bool(op, "blocks", true);
  } else if (name == "add_credential") {
    Credential credential;
    Parse(Needed(op, "value"), "add_credential.value", credential);
    if (w.FindCredential(credential.id)) throw SeedError("credential " + credential.id + " exists");
    w.credentials.push_back(std::move(credential));
  } else if (name == "revoke_credential") {
    Credential& credential = NeedCredential(w, op);
    credential.revoked = true;
    std::erase_if(w.oauth_tokens, [&](const auto& t) { return t.credential_id == credential.id; });
  } else if (name == "set_scopes") {
    Credential& credential = NeedCredential(w, op);
    Reader r(op, "set_scopes");
    std::string ignored;
    r.Required("op", ignored);
    r.Required("credential", ignored);
    r.Required("scopes", credential.scopes);
  } else if (name == "expire_oauth_tokens") {
    w.oauth_tokens.clear();
  } else if (name == "revoke_org_key") {
    std::string id = Str(op, "org");
    Org* org = w.FindOrg(id);
    if (!org) throw SeedError("no org " + id);
    org->api_key_revoked = true;
  } else if (name == "revoke_arnica_token") {
    Tenant& tenant = NeedTenant(w, op);
    std::string key_id = Str(op, "key_id");
    bool found = false;
    for (auto& token : tenant.tokens) {
      if (token.key_id == key_id) found = token.revoked = true;
    }
    if (!found) throw SeedError("no Arnica key " + key_id);
  } else if (name == "remove_integration") {
    Tenant& tenant = NeedTenant(w, op);
    std::string id = Str(op, "id");
    if (!EraseIf(tenant.integrations, [&](const auto& i) { return i.id == id; })) {
      throw SeedError("no integration " + id);
    }
  } else if (name == "remove_inventory") {
    Tenant& tenant = NeedTenant(w, op);
    std::string slug = Str(op, "workspace");
    if (!EraseIf(tenant.inventory, [&](const auto& r) { return r.workspace == slug; })) {
      throw SeedError("no repositories of " + slug + " in the inventory");
    }
  } else if (name == "add_inventory_repo") {
    Tenant& tenant = NeedTenant(w, op);
    InventoryRepo repo;
    Parse(Needed(op, "value"), "add_inventory_repo.value", repo);
    tenant.inventory.push_back(std::move(repo));
  } else if (name == "set_option") {
    json patch = Dump(w.options);
    patch[Str(op, "name")] = Needed(op, "value");
    Options options;
    Parse(patch, "options", options);
    w.options = options;
  } else {
    throw SeedError("unknown operation " + name);
  }
}

// Workspace and repository slugs end up in URL paths, where these characters would change
// the path's meaning.
void CheckSlug(const std::string& what, const std::string& slug) {
  if (slug.find_first_of("/?#% ") != std::string::npos) {
    throw SeedError(what + " " + slug + ": a slug has no '/', '?', '#', '%' or ' '");
  }
}

// What types alone cannot say: names are unique, references resolve, choices are known. Run
// on every seed and after every operation, so that a world never holds what no service would.
void CheckConsistent(World& w) {
  std::set<std::string> seen;
  auto unique = [&seen](const std::string& kind, const std::string& key) {
    if (key.empty()) throw SeedError(kind + ": an empty identifier");
    if (!seen.insert(kind + "\n" + key).second) throw SeedError(kind + " " + key + " twice");
  };
  auto user_exists = [&w](const std::string& where, const std::string& uuid) {
    if (!w.FindUser(uuid)) throw SeedError(where + ": no user " + uuid);
  };
  for (const User& user : w.users) {
    unique("user", user.uuid);
    unique("account id", user.account_id);
  }
  for (Workspace& workspace : w.workspaces) {
    unique("workspace", workspace.slug);
    unique("workspace", workspace.uuid);
    CheckSlug("workspace", workspace.slug);
    std::string where = "workspace " + workspace.slug;
    for (const WorkspaceMember& member : workspace.members) {
      user_exists(where, member.user);
      unique(where + " member", member.user);
      OneOf(member.permission, {"owner", "create-project", "member"}, where + " member");
    }
    for (const Group& group : workspace.groups) {
      unique(where + " group", group.slug);
      OneOf(group.permission, {"read", "write", "admin", ""}, where + " group " + group.slug);
      for (const std::string& member : group.members) user_exists(where, member);
    }
    for (const Repository& repo : workspace.repositories) {
      unique("repository", repo.uuid);  // repository UUIDs are unique across workspaces
      unique(where + " repository", repo.slug);
      CheckSlug(where + " repository", repo.slug);
    }
    if (workspace.managed) {
      Org* org = w.FindOrg(workspace.org_id);
      if (!org) throw SeedError(where + ": no org " + workspace.org_id);
      bool directory = false;
      for (const Directory& d : org->directories)
        directory = directory || d.id == workspace.directory_id;
      if (!directory)
        throw SeedError(where + ": org " + org->id + " has no directory " + workspace.directory_id);
    }
  }
  for (const Credential& credential : w.credentials) {
    unique("credential", credential.id);
    unique("credential secret", credential.secret);
    if (credential.kind == "access_token") {
      if (!w.FindWorkspace(credential.workspace)) {
        throw SeedError("credential " + credential.id + ": no workspace " + credential.workspace);
      }
      OneOf(credential.token_type, {"workspace", "project", "repository"},
            "credential " + credential.id + ".token_type");
    } else {
      user_exists("credential " + credential.id, credential.user);
    }
  }
  for (const Org& org : w.orgs) {
    unique("org", org.id);
    unique("org api key", org.api_key);
  }
  for (const Tenant& tenant : w.arnica_tenants) {
    unique("Arnica tenant", tenant.org_id);
    for (const ArnicaToken& token : tenant.tokens) {
      unique("Arnica token", token.token);
      unique("Arnica key", token.key_id);
    }
    for (const InventoryRepo& repo : tenant.inventory) unique("inventory repo", repo.id);
    for (const Integration& integration : tenant.integrations)
      unique("integration", integration.id);
  }
}

}  // namespace

bool LooksLikeUuid(std::string_view text) {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') {
    text = text.substr(1, 36);
  }
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

std::string NormalizeUuid(std::string_view text) {
  if (!LooksLikeUuid(text)) return std::string(text);
  if (text.front() == '{') text = text.substr(1, 36);
  return absl::StrCat("{", absl::AsciiStrToLower(std::string(text)), "}");
}

User* World::FindUser(std::string_view id) {
  std::string uuid = NormalizeUuid(id);
  for (auto& user : users) {
    if (user.uuid == uuid || user.account_id == id) return &user;
  }
  return nullptr;
}

Workspace* World::FindWorkspace(std::string_view id) {
  std::string uuid = NormalizeUuid(id);
  for (auto& workspace : workspaces) {
    if (workspace.slug == id || workspace.uuid == uuid) return &workspace;
  }
  return nullptr;
}

Credential* World::FindCredential(std::string_view id) {
  for (auto& credential : credentials) {
    if (credential.id == id) return &credential;
  }
  return nullptr;
}

Org* World::FindOrg(std::string_view id) {
  for (auto& org : orgs) {
    if (org.id == id) return &org;
  }
  return nullptr;
}

Tenant* World::FindTenantByToken(std::string_view token) {
  for (auto& tenant : arnica_tenants) {
    for (const auto& t : tenant.tokens) {
      if (t.token == token) return &tenant;
    }
  }
  return nullptr;
}

Group* World::FindGroup(Workspace& workspace, std::string_view slug) {
  for (auto& group : workspace.groups) {
    if (group.slug == slug) return &group;
  }
  return nullptr;
}

Repository* World::FindRepository(Workspace& workspace, std::string_view id) {
  std::string uuid = NormalizeUuid(id);
  for (auto& repo : workspace.repositories) {
    if (repo.slug == id || repo.uuid == uuid) return &repo;
  }
  return nullptr;
}

const WorkspaceMember* World::FindMember(const Workspace& workspace,
                                         std::string_view user_uuid) const {
  std::string uuid = NormalizeUuid(user_uuid);
  for (const auto& member : workspace.members) {
    if (member.user == uuid) return &member;
  }
  return nullptr;
}

std::string World::NewId(std::string_view prefix) {
  auto taken = [this](const std::string& id) {
    for (const Tenant& tenant : arnica_tenants) {
      for (const Integration& integration : tenant.integrations) {
        if (integration.id == id) return true;
      }
    }
    return false;
  };
  std::string id;
  do {
    id = absl::StrCat(std::string(prefix), "-", next_id++);
  } while (taken(id));
  return id;
}

absl::StatusOr<World> WorldFromJson(const json& seed) {
  World world;
  try {
    Parse(seed, "seed", world);
    CheckConsistent(world);
  } catch (const SeedError& error) {
    return absl::InvalidArgumentError(error.what());
  }
  return world;
}

json ToJson(const World& w) {
  return {{"users", DumpAll(w.users)},
          {"workspaces", DumpAll(w.workspaces)},
          {"credentials", DumpAll(w.credentials)},
          {"orgs", DumpAll(w.orgs)},
          {"arnica_tenants", DumpAll(w.arnica_tenants)},
          {"options", Dump(w.options)}};
}

absl::Status ApplyOp(World& world, const json& op) {
  if (!op.is_object()) return absl::InvalidArgumentError("an operation is a JSON object");
  World changed = world;  // all or nothing
  try {
    ApplyOne(changed, op);
    CheckConsistent(changed);
  } catch (const SeedError& error) {
    return absl::InvalidArgumentError(error.what());
  } catch (const json::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(OpName(op), ": ", error.what()));
  }
  world = std::move(changed);
  return absl::OkStatus();
}

}  // namespace arnica::emulators
