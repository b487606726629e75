// The Bitbucket Cloud client: the calls the provider's objects make, typed, over one shared
// http::Client. It authenticates with any of the credential kinds Bitbucket accepts in 2026,
// pages 2.0 lists to the end, reads 1.0 group lists (bare arrays), and turns every error into a
// status carrying an http::ServiceError (http::ServiceErrorOf) whose message says what to do.
//
// Workspaces are always addressed by slug on 1.0 paths (a UUID there is refused since 2026);
// users by their braced UUID. Nothing here ever puts a secret into a message. A call about one
// workspace that the workspace's IP allowlist refuses (http::ServiceError kind "ip_allowlist")
// fails with PermissionDenied and a message naming the workspace, its settings page and the
// addresses to allow (IpAllowlistAdvice in clients/ip_allowlist.h).
//
// Thread safety: a BitbucketClient may be shared by any number of threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "provider/http/client.h"

namespace arnica::clients {

inline constexpr char kBitbucketApiUrl[] = "https://api.bitbucket.org";
inline constexpr char kBitbucketTokenUrl[] = "https://bitbucket.org/site/oauth2/access_token";

// An Atlassian API token with scopes, sent as Basic with the Atlassian account e-mail.
struct ApiToken {
  std::string email;
  std::string token;
};

// An OAuth consumer, exchanged for a bearer token with the client-credentials grant.
struct OAuthConsumer {
  std::string client_id;
  std::string client_secret;
  std::string token_url = kBitbucketTokenUrl;
};

// A workspace, project or repository access token, sent as Bearer.
struct AccessToken {
  std::string token;
};

// A legacy app password, sent as Basic with the Bitbucket username. Bitbucket removed app
// passwords on 2026-07-28; a 401 with one says so.
struct AppPassword {
  std::string username;
  std::string password;
};

using BitbucketCredential = std::variant<ApiToken, OAuthConsumer, AccessToken, AppPassword>;

// "api_token", "oauth_consumer", "access_token" or "app_password".
const char* CredentialKind(const BitbucketCredential& credential);

struct BitbucketUser {
  std::string uuid;  // braced, lower-case
  std::string account_id;
  std::string nickname;
  std::string display_name;
  std::string username;  // only on /2.0/user for the caller
};

// What the x-credential-type and x-oauth-scopes headers of a response say.
struct CredentialInfo {
  std::string type;                 // api_token, oauth2, workspace_access_token, ...
  std::vector<std::string> scopes;  // trimmed, in the order sent
};

struct CurrentUser {
  BitbucketUser user;
  CredentialInfo credential;
};

struct Email {
  std::string email;
  bool is_primary = false;
  bool is_confirmed = false;
};

struct WorkspaceAccess {
  std::string uuid;
  std::string slug;
  bool administrator = false;
};

struct Workspace {
  std::string uuid;
  std::string slug;
  std::string name;
};

struct WorkspaceMembership {
  std::string permission;  // owner, create-project, member (collaborator on old data)
  BitbucketUser user;
  std::string workspace_slug;
  // Bitbucket leaves out `added_on` and `last_accessed` for workspaces administered in
  // admin.atlassian.com; their absence is the one public sign of it.
  bool has_access_dates = false;
};

struct Group {
  std::string slug;
  std::string name;
  std::string permission;  // read, write, admin or empty
};

struct BitbucketOptions {
  // The API root, e.g. https://api.bitbucket.org; a trailing "/" or "/2.0" is ignored.
  std::string base_url = kBitbucketApiUrl;
  BitbucketCredential credential;
};

class BitbucketClient {
 public:
  BitbucketClient(std::shared_ptr<http::Client> http, BitbucketOptions options);
  ~BitbucketClient();

  // GET /2.0/user: the credential's account and what the response headers say about the
  // credential. An access token gets PermissionDenied (Bitbucket refuses them here).
  absl::StatusOr<CurrentUser> GetCurrentUser(std::stop_token stop = {});
  absl::StatusOr<std::vector<Email>> ListCurrentUserEmails(std::stop_token stop = {});
  // GET /2.0/users/{selected_user}: any user's public profile (no `username`). `selected` is a
  // UUID in any spelling (sent braced) or an Atlassian account id; nullopt on Bitbucket's 404.
  absl::StatusOr<std::optional<BitbucketUser>> GetUser(std::string_view selected,
                                                       std::stop_token stop = {});

  // GET /2.0/user/workspaces, every page; `administrator` filters when set.
  absl::StatusOr<std::vector<WorkspaceAccess>> ListUserWorkspaces(std::optional<bool> administrator,
                                                                  std::stop_token stop = {});
  // GET /2.0/user/workspaces/{ws}/permission: the caller's membership (owner, create-project or
  // member), which also tells whether the workspace is administered in admin.atlassian.com.
  absl::StatusOr<WorkspaceMembership> GetUserWorkspacePermission(std::string_view workspace,
                                                                 std::stop_token stop = {});

  // `workspace` may be a slug or a braced UUID on the 2.0 routes below.
  absl::StatusOr<Workspace> GetWorkspace(std::string_view workspace, std::stop_token stop = {});
  absl::StatusOr<std::vector<WorkspaceMembership>> ListWorkspaceMembers(std::string_view workspace,
                                                                        std::stop_token stop = {});
  // nullopt when the user is not a member (Bitbucket's 404).
  absl::StatusOr<std::optional<WorkspaceMembership>> GetWorkspaceMember(std::string_view workspace,
                                                                        std::string_view member,
                                                                        std::stop_token stop = {});
  // GET /2.0/workspaces/{ws}/members?q=user.email IN (...), every page: the members with any of
  // `emails` (Bitbucket compares them without regard to case). Bitbucket answers this filter
  // only for the workspace's administrators and its workspace access token, and refuses anyone
  // else with 400 (InvalidArgument). At most kMaxEmailsPerLookup e-mails, at least one;
  // InvalidArgument otherwise, without a request.
  static constexpr std::size_t kMaxEmailsPerLookup = 90;
  absl::StatusOr<std::vector<WorkspaceMembership>> FindWorkspaceMembersByEmail(
      std::string_view workspace, const std::vector<std::string>& emails,
      std::stop_token stop = {});
  // `permission` filters (q=permission="owner") when not empty.
  absl::StatusOr<std::vector<WorkspaceMembership>> ListWorkspacePermissions(
      std::string_view workspace, std::string_view permission = {}, std::stop_token stop = {});

  // 1.0 groups; `workspace` must be the slug.
  absl::StatusOr<std::vector<Group>> ListGroups(std::string_view workspace,
                                                std::stop_token stop = {});
  // nullopt when the group (or the workspace) does not exist.
  absl::StatusOr<std::optional<std::vector<BitbucketUser>>> ListGroupMembers(
      std::string_view workspace, std::string_view group, std::stop_token stop = {});
  absl::StatusOr<BitbucketUser> AddGroupMember(std::string_view workspace, std::string_view group,
                                               std::string_view user_uuid,
                                               std::stop_token stop = {});
  // NotFound when the user is not in the group; callers decide whether that is success.
  absl::Status RemoveGroupMember(std::string_view workspace, std::string_view group,
                                 std::string_view user_uuid, std::stop_token stop = {});

 private:
  struct BearerCache;

  // In the helpers below, `workspace` is the workspace a call is about as its caller named it
  // (slug or UUID), or empty for a call about none; it only goes into Explained()'s messages.

  // Sends a request with the credential's Authorization, refreshing an OAuth bearer once on
  // 401. Non-2xx answers are returned as responses; errors are the transport's.
  absl::StatusOr<http::Response> Send(http::Request request, std::stop_token stop);
  // Every page of a 2.0 list, with the same 401 handling as Send.
  absl::StatusOr<std::vector<nlohmann::json>> SendPaged(http::Request first, std::stop_token stop,
                                                        std::string_view workspace = {});
  // A 1.0 bare-array listing, with the same 401 handling as Send.
  absl::StatusOr<std::vector<nlohmann::json>> SendBareArray(http::Request request,
                                                            std::stop_token stop,
                                                            std::string_view workspace = {});
  // Runs `fetch` with the credential's Authorization, and for an OAuth consumer once more with
  // a fresh bearer when the first try is refused; a failure is Explained().
  absl::StatusOr<std::vector<nlohmann::json>> WithAuthorization(
      std::stop_token stop, std::string_view workspace,
      const std::function<absl::StatusOr<std::vector<nlohmann::json>>(http::HeaderList)>& fetch);
  absl::StatusOr<http::HeaderList> Authorization(std::stop_token stop, bool refresh);
  // A failed response as a status, Explained().
  absl::Status ErrorFor(const http::Response& response, std::string_view workspace = {}) const;
  // The one place a failure gets the message for its cause: a 401 the credential kind's remedy,
  // and an IP allowlist refusal of a call about `workspace` the workspace and what to allow.
  absl::Status Explained(absl::Status status, std::string_view workspace = {}) const;
  std::string Url(std::string_view path) const;

  std::shared_ptr<http::Client> http_;
  BitbucketOptions options_;
  std::unique_ptr<BearerCache> bearer_;
};

// Path segment encoding: everything but RFC 3986 unreserved characters percent-encoded, so
// `{uuid}` travels as %7Buuid%7D. Exposed for tests.
std::string EncodeSegment(std::string_view text);

// "{ABC...}", "abc..." -> "{abc...}"; nullopt when `text` is not a UUID.
std::optional<std::string> CanonicalUuid(std::string_view text);

}  // namespace arnica::clients
