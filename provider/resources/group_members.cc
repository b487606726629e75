#include "provider/resources/group_members.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "provider/http/bitbucket_errors.h"

namespace arnica::resources {
namespace {

using tf::AttributePath;
using tf::Value;

bool IsMethodNotAllowed(const absl::Status& status) {
  std::optional<http::ServiceError> error = http::ServiceErrorOf(status);
  return error && error->status == 405;
}

// For workspaces administered in admin.atlassian.com: the group of the same name in the
// organization's directories.
absl::Status ThroughAdmin(const Services& services, clients::BitbucketClient& bitbucket,
                          const Membership& m, bool add, std::stop_token stop,
                          tf::Diagnostics& diagnostics) {
  clients::AtlassianAdminClient* admin = services.RequireAdmin(diagnostics);
  if (admin == nullptr) return absl::FailedPreconditionError("no Atlassian Admin API");
  auto groups = bitbucket.ListGroups(m.workspace_slug, stop);
  if (!groups.ok()) return groups.status();
  auto group = std::find_if(groups->begin(), groups->end(),
                            [&](const auto& g) { return g.slug == m.group; });
  if (group == groups->end()) return absl::NotFoundError("the group is gone");
  auto directories = admin->ListDirectories(stop);
  if (!directories.ok()) return directories.status();
  std::vector<std::pair<std::string, std::string>> matches;  // directory, group id
  for (const auto& directory : *directories) {
    auto found = admin->ListGroups(directory.id, group->name, {}, stop);
    if (!found.ok()) return found.status();
    for (const auto& candidate : *found) {
      if (absl::EqualsIgnoreCase(candidate.name, group->name)) {
        matches.emplace_back(directory.id, candidate.id);
      }
    }
  }
  if (matches.size() != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "The organization has ", matches.size(), " groups named \"", group->name,
        "\" in its directories, so the Atlassian Admin API group for ", m.workspace_slug, "/",
        m.group, " cannot be told apart. Manage this membership in admin.atlassian.com."));
  }
  const auto& [directory, group_id] = matches.front();
  return add ? admin->AddGroupMember(directory, group_id, m.user_account_id, stop)
             : admin->RemoveGroupMember(directory, group_id, m.user_account_id, stop);
}
}  // namespace

std::string Str(const Value& object, const char* name) {
  Value value = object.GetAttr(name);
  return value.is_known_non_null() ? value.AsString() : std::string();
}

std::vector<std::string> KnownStrings(const Value& collection) {
  std::vector<std::string> out;
  if (!collection.is_known_non_null()) return out;
  for (const Value& element : collection.Elements()) {
    if (element.is_known_non_null()) out.push_back(element.AsString());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<Value> StringValues(const std::vector<std::string>& items) {
  std::vector<Value> values;
  for (const std::string& item : items) values.push_back(Value::String(item));
  return values;
}

Value StringSetValue(const std::vector<std::string>& items) {
  return Value::Set(tf::Type::String(), StringValues(items));
}

// Whether `given` (a slug or a UUID in any spelling) names the workspace in `state`.
bool SameWorkspace(const std::string& given, const Value& state) {
  if (given == Str(state, "workspace_slug")) return true;
  std::optional<std::string> uuid = clients::CanonicalUuid(given);
  return uuid && *uuid == Str(state, "workspace_uuid");
}

// Whether `given` (a UUID in any spelling, or an account id) names the user in `state`.
bool SameUser(const std::string& given, const Value& state) {
  std::optional<std::string> uuid = clients::CanonicalUuid(given);
  if (uuid) return *uuid == Str(state, "user_uuid");
  return !given.empty() && given == Str(state, "user_account_id");
}

// The workspace's slug and UUID and the user's UUID and account id. The user must already be
// a member of the workspace: Bitbucket has no API to invite one.
std::optional<Membership> ResolveMembership(clients::BitbucketClient& bitbucket,
                                            const std::string& workspace, const std::string& group,
                                            const std::string& user, std::stop_token stop,
                                            tf::Diagnostics& diagnostics) {
  auto found = bitbucket.GetWorkspace(workspace, stop);
  if (!found.ok()) {
    AddServiceError(diagnostics, "Cannot Read Workspace " + workspace, found.status(),
                    AttributePath::Root("workspace"));
    return std::nullopt;
  }
  std::string member = clients::CanonicalUuid(user).value_or(user);
  auto membership = bitbucket.GetWorkspaceMember(found->slug, member, stop);
  if (!membership.ok()) {
    AddServiceError(diagnostics, "Cannot Read Workspace Members", membership.status(),
                    AttributePath::Root("user"));
    return std::nullopt;
  }
  if (!membership->has_value()) {
    diagnostics.AddError(
        "User Not In Workspace",
        absl::StrCat("The user ", user, " is not a member of the workspace ", found->slug,
                     ", and Bitbucket has no API to add one. Invite the user in Bitbucket "
                     "(workspace settings, User management), let them accept, then apply "
                     "again."),
        AttributePath::Root("user"));
    return std::nullopt;
  }
  return Membership{.workspace_slug = found->slug,
                    .workspace_uuid = found->uuid,
                    .group = group,
                    .user_uuid = (*membership)->user.uuid,
                    .user_account_id = (*membership)->user.account_id,
                    .admin_managed = !(*membership)->has_access_dates};
}

// Puts the user in the group unless already there (adopted, not an error).
bool JoinGroup(Services& services, clients::BitbucketClient& bitbucket, Membership& m,
               std::stop_token stop, tf::Diagnostics& diagnostics) {
  MemberCache& cache = services.members;
  auto members = cache.Get(bitbucket, m.workspace_slug, m.group, stop);
  if (!members.ok()) {
    AddServiceError(diagnostics, "Cannot Read Group Members", members.status());
    return false;
  }
  if (!members->has_value()) {
    diagnostics.AddError("Group Not Found",
                         absl::StrCat("The workspace ", m.workspace_slug, " has no group \"",
                                      m.group, "\". Use the group's slug (e.g. administrators)."),
                         AttributePath::Root("group"));
    return false;
  }
  if (HasMember(*members, m.user_uuid)) return true;
  absl::Status added =
      bitbucket.AddGroupMember(m.workspace_slug, m.group, m.user_uuid, stop).status();
  if (IsMethodNotAllowed(added)) {
    m.admin_managed = true;
    added = ThroughAdmin(services, bitbucket, m, true, stop, diagnostics);
  }
  cache.Forget(m.workspace_slug, m.group);
  if (absl::IsAlreadyExists(added)) return true;
  if (!added.ok()) {
    if (!diagnostics.HasError()) AddServiceError(diagnostics, "Cannot Add Group Member", added);
    return false;
  }
  return true;
}

bool HasMember(const MemberCache::Members& members, const std::string& user_uuid) {
  return members.has_value() && std::any_of(members->begin(), members->end(),
                                            [&](const auto& m) { return m.uuid == user_uuid; });
}

absl::Status LeaveGroup(Services& services, clients::BitbucketClient& bitbucket,
                        const Membership& m, std::stop_token stop, tf::Diagnostics& diagnostics) {
  absl::Status removed = bitbucket.RemoveGroupMember(m.workspace_slug, m.group, m.user_uuid, stop);
  if (IsMethodNotAllowed(removed)) {
    removed = ThroughAdmin(services, bitbucket, m, false, stop, diagnostics);
  }
  services.members.Forget(m.workspace_slug, m.group);
  return absl::IsNotFound(removed) ? absl::OkStatus() : removed;  // already gone is success
}

}  // namespace arnica::resources
