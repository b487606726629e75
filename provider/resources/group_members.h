// What the group-membership resources share: naming a workspace and a user in any spelling,
// resolving them to Bitbucket's identifiers, and joining or leaving a group through the 1.0
// groups API, or the Atlassian Admin API where Bitbucket refuses the write with a 405
// (workspaces administered in admin.atlassian.com). Also the few value helpers every resource
// uses (Str, KnownStrings, StringSetValue).
#pragma once

#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "provider/resources/services.h"
#include "provider/tf/diagnostics.h"
#include "provider/tf/value.h"

namespace arnica::resources {

// What the state records of one membership once it is known.
struct Membership {
  std::string workspace_slug, workspace_uuid, group, user_uuid, user_account_id;
  bool admin_managed = false;
};

// The string at `name`, or "" when it is null or unknown.
std::string Str(const tf::Value& object, const char* name);
// The known strings of a list or set, sorted and without duplicates; none when it is null or
// unknown.
std::vector<std::string> KnownStrings(const tf::Value& collection);
// Strings as values, and as a set(string) value.
std::vector<tf::Value> StringValues(const std::vector<std::string>& items);
tf::Value StringSetValue(const std::vector<std::string>& items);

// Whether `given` (a slug or a UUID in any spelling) names the workspace whose
// `workspace_slug`/`workspace_uuid` the state holds.
bool SameWorkspace(const std::string& given, const tf::Value& state);
// Whether `given` (a UUID in any spelling, or an account id) names the user whose
// `user_uuid`/`user_account_id` the state holds.
bool SameUser(const std::string& given, const tf::Value& state);

// The workspace's slug and UUID and the user's UUID and account id; nullopt with an error
// diagnostic when the workspace cannot be read or the user is not a member of it (Bitbucket has
// no API to invite one).
std::optional<Membership> ResolveMembership(clients::BitbucketClient& bitbucket,
                                            const std::string& workspace, const std::string& group,
                                            const std::string& user, std::stop_token stop,
                                            tf::Diagnostics& diagnostics);

// Whether a group listing (nullopt: no such group) holds the user with this braced UUID.
bool HasMember(const MemberCache::Members& members, const std::string& user_uuid);

// Puts the user in the group unless already there (adopted, not an error); false with an error
// diagnostic on failure. Sets `admin_managed` when the write went through the Admin API.
bool JoinGroup(Services& services, clients::BitbucketClient& bitbucket, Membership& m,
               std::stop_token stop, tf::Diagnostics& diagnostics);

// Takes the user out of the group; a membership already gone is success.
absl::Status LeaveGroup(Services& services, clients::BitbucketClient& bitbucket,
                        const Membership& m, std::stop_token stop, tf::Diagnostics& diagnostics);

}  // namespace arnica::resources
