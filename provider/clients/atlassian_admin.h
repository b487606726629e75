// The Atlassian Admin (organizations) API client, for workspaces administered in
// admin.atlassian.com: there Bitbucket's 1.0 group API is read-only, and group membership is
// changed in the organisation's directory. Authenticates with an organisation API key (Bearer).
// Lists are read to the end by following links.next; errors carry an http::ServiceError whose
// service is "Atlassian Admin API".
//
// Thread safety: an AtlassianAdminClient may be shared by any number of threads.
#pragma once

#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "provider/http/client.h"

namespace arnica::clients {

inline constexpr char kAtlassianAdminApiUrl[] = "https://api.atlassian.com";

struct AtlassianAdminOptions {
  std::string base_url = kAtlassianAdminApiUrl;  // a trailing "/" or "/admin" is ignored
  std::string org_id;
  std::string api_key;
};

struct Directory {
  std::string id;
  std::string name;
};

struct OrgGroup {
  std::string id;
  std::string name;
};

struct OrgMember {
  std::string account_id;
  std::string name;
};

class AtlassianAdminClient {
 public:
  AtlassianAdminClient(std::shared_ptr<http::Client> http, AtlassianAdminOptions options);

  absl::StatusOr<std::vector<Directory>> ListDirectories(std::stop_token stop = {});
  // `search_term` filters by name when not empty; `account_id` keeps only the groups that
  // account belongs to when not empty.
  absl::StatusOr<std::vector<OrgGroup>> ListGroups(std::string_view directory,
                                                   std::string_view search_term = {},
                                                   std::string_view account_id = {},
                                                   std::stop_token stop = {});
  // nullopt when the group does not exist.
  absl::StatusOr<std::optional<std::vector<OrgMember>>> ListGroupMembers(std::string_view directory,
                                                                         std::string_view group,
                                                                         std::stop_token stop = {});
  // AlreadyExists when the account is already a member; callers decide if that is success.
  absl::Status AddGroupMember(std::string_view directory, std::string_view group,
                              std::string_view account_id, std::stop_token stop = {});
  // NotFound when the account is not a member.
  absl::Status RemoveGroupMember(std::string_view directory, std::string_view group,
                                 std::string_view account_id, std::stop_token stop = {});

 private:
  std::string Url(std::string_view path) const;
  http::HeaderList Authorization() const;
  absl::StatusOr<std::vector<nlohmann::json>> ReadAll(std::string url, std::stop_token stop);
  absl::Status ErrorFor(const http::Response& response) const;

  std::shared_ptr<http::Client> http_;
  AtlassianAdminOptions options_;
};

}  // namespace arnica::clients
