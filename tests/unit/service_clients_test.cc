// The Bitbucket, Atlassian Admin and Arnica clients against the emulators (tests/emulators),
// in-process on 127.0.0.1. The emulators' request log is the evidence for counts (retries,
// pages, token fetches); the clients' own account of themselves is not.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stop_token>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "provider/clients/arnica.h"
#include "provider/clients/atlassian_admin.h"
#include "provider/clients/bitbucket.h"
#include "provider/clients/ip_allowlist.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/plugin/log.h"
#include "tests/emulators/emulator.h"
#include "tests/unit/http_test_support.h"

namespace arnica::clients {
namespace {

using emulators::Emulators;
using emulators::Fault;
using emulators::Service;
using nlohmann::json;

// Every secret in the seed contains this, so one search finds any of them in any output.
constexpr char kCanary[] = "CANARY-7f3e";

std::string Secret(const std::string& name) { return absl::StrCat(name, "-", kCanary); }

constexpr char kServiceUser[] = "{5d2a0c4e-1111-4a4a-8a8a-000000000001}";
constexpr char kAdminUser[] = "{5d2a0c4e-2222-4a4a-8a8a-000000000002}";
constexpr char kOtherUser[] = "{5d2a0c4e-3333-4a4a-8a8a-000000000003}";

std::string WorkspaceUuid(int i) {
  char text[64];
  std::snprintf(text, sizeof(text), "{7e000000-0000-4000-8000-%012d}", i);
  return text;
}

json User(const char* uuid, const std::string& name) {
  return {{"uuid", uuid},
          {"account_id", "557058:" + name},
          {"nickname", name},
          {"username", name},
          {"emails", {{{"email", name + "@example.test"}}}}};
}

// `count` workspaces ws-000.. with the service account a member of each; ws-000 also has the
// admin user as owner and an Administrators group; ws-managed is administered in
// admin.atlassian.com.
json Seed(int count = 3) {
  json workspaces = json::array();
  for (int i = 0; i < count; ++i) {
    char slug[16];
    std::snprintf(slug, sizeof(slug), "ws-%03d", i);
    workspaces.push_back(
        {{"uuid", WorkspaceUuid(i)},
         {"slug", slug},
         {"members",
          {{{"user", kServiceUser}},
           {{"user", kAdminUser}, {"permission", "owner"}},
           {{"user", kOtherUser}}}},
         {"groups",
          {{{"slug", "administrators"}, {"name", "Administrators"}, {"members", {kAdminUser}}}}}});
  }
  workspaces.push_back(
      {{"uuid", WorkspaceUuid(9999)},
       {"slug", "ws-managed"},
       {"managed", true},
       {"org_id", "org-1"},
       {"directory_id", "dir-1"},
       {"members", {{{"user", kServiceUser}}, {{"user", kAdminUser}, {"permission", "owner"}}}},
       {"groups",
        {{{"slug", "administrators"},
          {"name", "Administrators"},
          {"org_group_id", "grp-admins"},
          {"members", {kAdminUser}}}}}});
  const std::vector<std::string> token_scopes = {"read:user:bitbucket", "read:workspace:bitbucket"};
  json seed = {{"users",
                {User(kServiceUser, "arnica-svc"), User(kAdminUser, "ws-admin"),
                 User(kOtherUser, "someone")}},
               {"workspaces", workspaces},
               {"credentials",
                {{{"id", "svc-token"},
                  {"kind", "api_token"},
                  {"user", kServiceUser},
                  {"secret", Secret("ATATT3xSVC")},
                  {"scopes", token_scopes}},
                 {{"id", "svc-narrow"},
                  {"kind", "api_token"},
                  {"user", kServiceUser},
                  {"secret", Secret("ATATT3xNARROW")},
                  {"scopes", {"read:user:bitbucket"}}},
                 {{"id", "svc-app-password"},
                  {"kind", "app_password"},
                  {"user", kServiceUser},
                  {"secret", Secret("app-pw")},
                  {"scopes", {"account"}}},
                 {{"id", "consumer"},
                  {"kind", "oauth_consumer"},
                  {"user", kAdminUser},
                  {"client_id", "consumer-key"},
                  {"secret", Secret("consumer-secret")},
                  {"scopes", {"account", "account:write", "team"}}}}},
               {"orgs",
                {{{"id", "org-1"},
                  {"api_key", Secret("org-key")},
                  {"directories", {{{"id", "dir-1"}, {"name", "Example"}}}}}}},
               {"arnica_tenants",
                {{{"org_id", "arnica-org-1"},
                  {"tokens",
                   {{{"token", Secret("arnica")},
                     {"key_id", "key-1"},
                     {"scopes", {"inventory:read", "integrations:read", "integrations:write"}}},
                    {{"token", Secret("arnica-inventory-only")},
                     {"key_id", "key-2"},
                     {"scopes", {"inventory:read"}}}}},
                  {"inventory",
                   {{{"id", "r1"}, {"workspace", "ws-000"}, {"name", "api"}},
                    {{"id", "r2"}, {"workspace", "ws-001"}, {"name", "web"}}}}}}}};
  if (count > 0) {  // an access token needs its workspace
    seed["credentials"].push_back({{"id", "ws-token"},
                                   {"kind", "access_token"},
                                   {"workspace", "ws-000"},
                                   {"token_type", "workspace"},
                                   {"secret", Secret("ws-access")},
                                   {"scopes", {"account", "repository"}}});
  }
  return seed;
}

class ServiceClientsTest : public testing::Test {
 protected:
  void SetUp() override { Start(Seed()); }

  void Start(const json& seed) {
    emulators_.reset();
    auto started = Emulators::Start({.seed = seed});
    ASSERT_TRUE(started.ok()) << started.status();
    emulators_ = *std::move(started);
  }

  std::shared_ptr<http::Client> Http(int max_attempts = 4) {
    http::ClientOptions options = http::test_support::FastRetries(max_attempts);
    options.on_attempt = [](const json& fields) { plugin::Log::Trace("HTTP request", fields); };
    return std::make_shared<http::Client>(options);
  }

  BitbucketClient Bitbucket(BitbucketCredential credential, int max_attempts = 4) {
    return BitbucketClient(Http(max_attempts), {.base_url = emulators_->url(Service::kBitbucket),
                                                .credential = std::move(credential)});
  }

  ApiToken ServiceToken() const { return {"arnica-svc@example.test", Secret("ATATT3xSVC")}; }

  OAuthConsumer Consumer() const {
    return {"consumer-key", Secret("consumer-secret"),
            emulators_->url(Service::kBitbucket) + "/site/oauth2/access_token"};
  }

  AtlassianAdminClient Admin(std::string key = Secret("org-key")) {
    return AtlassianAdminClient(Http(), {.base_url = emulators_->url(Service::kAtlassianAdmin),
                                         .org_id = "org-1",
                                         .api_key = std::move(key)});
  }

  ArnicaClient Arnica(std::string token = Secret("arnica")) {
    return ArnicaClient(
        Http(), {.base_url = emulators_->url(Service::kArnica), .api_token = std::move(token)});
  }

  void AddFault(const json& fault) {
    auto parsed = emulators::FaultFromJson(fault);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    emulators_->AddFault(*parsed);
  }

  int Calls(Service service, const std::string& method, const std::string& path) {
    return emulators_->Count(service, method, path);
  }

  std::unique_ptr<Emulators> emulators_;
};

void ExpectNoSecret(const absl::Status& status) {
  EXPECT_EQ(std::string(status.message()).find(kCanary), std::string::npos) << status;
}

// --- Every credential kind --------------------------------------------------------------------

TEST_F(ServiceClientsTest, ApiTokenWithTheEmailReadsTheUserAndTheCredentialsScopes) {
  BitbucketClient client = Bitbucket(ServiceToken());
  auto me = client.GetCurrentUser();
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_EQ(me->user.uuid, kServiceUser);
  EXPECT_EQ(me->user.account_id, "557058:arnica-svc");
  EXPECT_EQ(me->credential.type, "api_token");
  EXPECT_EQ(me->credential.scopes,
            (std::vector<std::string>{"read:user:bitbucket", "read:workspace:bitbucket"}));
}

TEST_F(ServiceClientsTest, HttpsWithTheTestCaIsTrustedAndWithoutItRefused) {
  auto tls = Emulators::Start({.seed = Seed(1), .tls = true});
  ASSERT_TRUE(tls.ok()) << tls.status();
  std::string url = (*tls)->url(Service::kBitbucket);
  ASSERT_EQ(url.rfind("https://127.0.0.1:", 0), 0u) << url;

  http::ClientOptions trusting = http::test_support::FastRetries(1);
  trusting.ca_bundle = (*tls)->ca_file();
  BitbucketClient trusted(std::make_shared<http::Client>(trusting),
                          {.base_url = url, .credential = ServiceToken()});
  auto me = trusted.GetCurrentUser();
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_EQ(me->user.uuid, kServiceUser);

  BitbucketClient untrusted(std::make_shared<http::Client>(http::test_support::FastRetries(1)),
                            {.base_url = url, .credential = ServiceToken()});
  auto refused = untrusted.GetCurrentUser();
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_EQ((*tls)->Count(Service::kBitbucket, "GET", "/2.0/user"), 1);
}

TEST_F(ServiceClientsTest, ApiTokenWithTheUsernameIsRefusedWithTheRemedy) {
  BitbucketClient client = Bitbucket(ApiToken{"arnica-svc", Secret("ATATT3xSVC")});
  auto me = client.GetCurrentUser();
  ASSERT_TRUE(absl::IsUnauthenticated(me.status())) << me.status();
  EXPECT_NE(me.status().message().find("e-mail address"), std::string::npos) << me.status();
  EXPECT_NE(me.status().message().find("the configured name is not one"), std::string::npos);
  EXPECT_EQ(me.status().message().find("arnica-svc"), std::string::npos);  // never quoted
  ExpectNoSecret(me.status());
}

TEST_F(ServiceClientsTest, AppPasswordIsRefusedWithTheRemovalDate) {
  BitbucketClient client = Bitbucket(AppPassword{"arnica-svc", Secret("app-pw")});
  auto me = client.GetCurrentUser();
  ASSERT_TRUE(absl::IsUnauthenticated(me.status())) << me.status();
  EXPECT_NE(me.status().message().find("removed app passwords on 2026-07-28"), std::string::npos)
      << me.status();
  auto error = http::ServiceErrorOf(me.status());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 401);
  ExpectNoSecret(me.status());
}

TEST_F(ServiceClientsTest, AppPasswordStillWorksWhereTheEmulatorIsToldTheyAre) {
  ASSERT_TRUE(
      emulators_->Apply({{"op", "set_option"}, {"name", "app_passwords"}, {"value", "accepted"}})
          .ok());
  auto me = Bitbucket(AppPassword{"arnica-svc", Secret("app-pw")}).GetCurrentUser();
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_EQ(me->credential.type, "app_password");
}

TEST_F(ServiceClientsTest, AccessTokenIsBearerAndRefusedOnTheCurrentUser) {
  BitbucketClient client = Bitbucket(AccessToken{Secret("ws-access")});
  auto me = client.GetCurrentUser();
  ASSERT_TRUE(absl::IsPermissionDenied(me.status())) << me.status();
  auto error = http::ServiceErrorOf(me.status());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->credential_type, "workspace_access_token");

  auto workspace = client.GetWorkspace("ws-000");
  ASSERT_TRUE(workspace.ok()) << workspace.status();
  EXPECT_EQ(workspace->uuid, WorkspaceUuid(0));
}

TEST_F(ServiceClientsTest, OAuthConsumerFetchesOneBearerAndReusesIt) {
  BitbucketClient client = Bitbucket(Consumer());
  for (int i = 0; i < 3; ++i) {
    auto me = client.GetCurrentUser();
    ASSERT_TRUE(me.ok()) << me.status();
    EXPECT_EQ(me->user.uuid, kAdminUser);
  }
  EXPECT_EQ(Calls(Service::kBitbucket, "POST", "/site/oauth2/access_token"), 1);
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/user"), 3);
}

TEST_F(ServiceClientsTest, OAuthBearerRefusedWith401IsRefreshedOnce) {
  BitbucketClient client = Bitbucket(Consumer());
  ASSERT_TRUE(client.GetCurrentUser().ok());
  ASSERT_TRUE(emulators_->Apply({{"op", "expire_oauth_tokens"}}).ok());

  auto me = client.GetCurrentUser();
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_EQ(Calls(Service::kBitbucket, "POST", "/site/oauth2/access_token"), 2);
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/user"), 3);  // ok, 401, ok

  ASSERT_TRUE(emulators_->Apply({{"op", "expire_oauth_tokens"}}).ok());
  auto workspaces = client.ListUserWorkspaces(std::nullopt);  // paged calls refresh too
  ASSERT_TRUE(workspaces.ok()) << workspaces.status();
  EXPECT_EQ(Calls(Service::kBitbucket, "POST", "/site/oauth2/access_token"), 3);
}

TEST_F(ServiceClientsTest, OAuthConsumerWithAWrongSecretIsRefusedAtTheTokenEndpoint) {
  OAuthConsumer consumer = Consumer();
  consumer.client_secret = Secret("wrong");
  auto me = Bitbucket(consumer).GetCurrentUser();
  ASSERT_TRUE(absl::IsUnauthenticated(me.status())) << me.status();
  EXPECT_NE(me.status().message().find("OAuth token endpoint refused"), std::string::npos);
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/user"), 0);
  ExpectNoSecret(me.status());
}

TEST_F(ServiceClientsTest, AdminApiKeyListsDirectoriesAndAWrongKeyIsRefused) {
  auto directories = Admin().ListDirectories();
  ASSERT_TRUE(directories.ok()) << directories.status();
  ASSERT_EQ(directories->size(), 1u);
  EXPECT_EQ((*directories)[0].id, "dir-1");

  auto refused = Admin(Secret("not-the-key")).ListDirectories();
  ASSERT_TRUE(absl::IsUnauthenticated(refused.status())) << refused.status();
  auto error = http::ServiceErrorOf(refused.status());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->service, "Atlassian Admin API");
  EXPECT_NE(refused.status().message().find("ATLASSIAN_ADMIN_API_KEY"), std::string::npos);
  ExpectNoSecret(refused.status());
}

TEST_F(ServiceClientsTest, ArnicaTokenIsCheckedAndABadOneIsA403ThatSaysSo) {
  auto info = Arnica().CheckToken();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->org_id, "arnica-org-1");
  EXPECT_EQ(info->key_id, "key-1");

  auto refused = Arnica(Secret("bad")).CheckToken();
  ASSERT_TRUE(absl::IsPermissionDenied(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("ARNICA_API_TOKEN"), std::string::npos);
  ExpectNoSecret(refused.status());
}

// --- Error shapes -----------------------------------------------------------------------------

TEST_F(ServiceClientsTest, MissingScopeNamesGrantedAndRequired) {
  auto workspaces = Bitbucket(ApiToken{"arnica-svc@example.test", Secret("ATATT3xNARROW")})
                        .ListUserWorkspaces(std::nullopt);
  ASSERT_TRUE(absl::IsPermissionDenied(workspaces.status())) << workspaces.status();
  auto error = http::ServiceErrorOf(workspaces.status());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, "missing_scope");
  EXPECT_EQ(error->MissingScopes(), std::vector<std::string>{"read:workspace:bitbucket"});
  EXPECT_NE(workspaces.status().message().find("read:workspace:bitbucket"), std::string::npos);
}

// An IP allowlist refusal of a call about a workspace names the workspace, its access-controls
// page, the machine running OpenTofu and Arnica's addresses, whichever call it was.
TEST_F(ServiceClientsTest, IpAllowlistRefusalOfEveryWorkspaceCallNamesTheWorkspaceAndAddresses) {
  ASSERT_TRUE(emulators_->Apply({{"op", "set_ip_allowlist"}, {"workspace", "ws-001"}}).ok());
  BitbucketClient client = Bitbucket(Consumer());  // the owner: nothing else refuses it
  BitbucketClient token = Bitbucket(ServiceToken());
  std::vector<std::pair<std::string, absl::Status>> calls = {
      {"GetWorkspace", token.GetWorkspace("ws-001").status()},
      {"GetUserWorkspacePermission", token.GetUserWorkspacePermission("ws-001").status()},
      {"ListWorkspaceMembers", client.ListWorkspaceMembers("ws-001").status()},
      {"GetWorkspaceMember", client.GetWorkspaceMember("ws-001", kServiceUser).status()},
      {"FindWorkspaceMembersByEmail",
       client.FindWorkspaceMembersByEmail("ws-001", {"someone@example.test"}).status()},
      {"ListWorkspacePermissions", client.ListWorkspacePermissions("ws-001").status()},
      {"ListGroups", client.ListGroups("ws-001").status()},
      {"ListGroupMembers", client.ListGroupMembers("ws-001", "administrators").status()},
      {"AddGroupMember", client.AddGroupMember("ws-001", "administrators", kServiceUser).status()},
      {"RemoveGroupMember", client.RemoveGroupMember("ws-001", "administrators", kAdminUser)},
  };
  for (const auto& [name, status] : calls) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(absl::IsPermissionDenied(status)) << status;
    auto error = http::ServiceErrorOf(status);
    ASSERT_TRUE(error.has_value()) << status;
    EXPECT_EQ(error->kind, "ip_allowlist");
    EXPECT_TRUE(IsIpAllowlistRefusal(*error));
    std::string message(status.message());
    EXPECT_NE(message.find("Bitbucket refused a call for the workspace ws-001 because of the "
                           "workspace's IP allowlist (HTTP 403: Your IP address is not on"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("https://bitbucket.org/ws-001/workspace/settings/access-controls"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("machine running OpenTofu"), std::string::npos) << message;
    EXPECT_NE(message.find("18.221.115.1"), std::string::npos) << message;  // first Arnica US
    EXPECT_NE(message.find("18.199.13.52"), std::string::npos) << message;  // first Arnica EU
    EXPECT_NE(message.find(IpAllowlistAdvice("ws-001")), std::string::npos) << message;
    ExpectNoSecret(status);
  }
  // The other workspaces are not behind the allowlist.
  EXPECT_TRUE(client.ListGroupMembers("ws-000", "administrators").ok());

  // A workspace named by UUID is named so; the page's URL then needs the slug.
  auto by_uuid = token.GetWorkspace(WorkspaceUuid(1));
  std::string message(by_uuid.status().message());
  EXPECT_NE(message.find("workspace " + WorkspaceUuid(1)), std::string::npos) << message;
  EXPECT_NE(message.find("https://bitbucket.org/<workspace-slug>/workspace/settings/"),
            std::string::npos)
      << message;

  // Off again, the same calls work.
  ASSERT_TRUE(
      emulators_->Apply({{"op", "set_ip_allowlist"}, {"workspace", "ws-001"}, {"blocks", false}})
          .ok());
  EXPECT_TRUE(token.GetWorkspace("ws-001").ok());
  auto members = client.ListGroupMembers("ws-001", "administrators");
  ASSERT_TRUE(members.ok()) << members.status();
  ASSERT_TRUE(members->has_value());
  ASSERT_EQ((*members)->size(), 1u);  // the refused add and remove changed nothing
  EXPECT_EQ((**members)[0].uuid, kAdminUser);
}

// A workspace call refused for any other reason is not taken for an allowlist refusal.
TEST_F(ServiceClientsTest, Other403sOfWorkspaceCallsAreNotAllowlistRefusals) {
  std::vector<std::pair<std::string, absl::Status>> calls = {
      // Missing scope: the narrow token cannot read workspaces.
      {"missing scope", Bitbucket(ApiToken{"arnica-svc@example.test", Secret("ATATT3xNARROW")})
                            .GetWorkspace("ws-000")
                            .status()},
      // A workspace access token used on another workspace.
      {"other workspace's token",
       Bitbucket(AccessToken{Secret("ws-access")}).GetWorkspace("ws-001").status()},
  };
  for (const auto& [name, status] : calls) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(absl::IsPermissionDenied(status)) << status;
    auto error = http::ServiceErrorOf(status);
    ASSERT_TRUE(error.has_value()) << status;
    EXPECT_NE(error->kind, "ip_allowlist");
    EXPECT_FALSE(IsIpAllowlistRefusal(*error));
    EXPECT_EQ(status.message().find("allowlist"), std::string::npos) << status;
    EXPECT_EQ(status.message().find("18.221.115.1"), std::string::npos) << status;
  }
  EXPECT_EQ(http::ServiceErrorOf(calls[0].second)->kind, "missing_scope");
}

TEST_F(ServiceClientsTest, RemovedEndpointIsGoneWithTheAnnouncement) {
  http::Client http(http::test_support::FastRetries(1));
  http::Request request{.url = emulators_->url(Service::kBitbucket) + "/2.0/workspaces"};
  request.secret_headers = {
      {"Authorization",
       "Basic " + absl::Base64Escape("arnica-svc@example.test:" + Secret("ATATT3xSVC"))}};
  auto response = http.Do(request);
  ASSERT_TRUE(response.ok()) << response.status();
  http::ServiceError error = http::ParseBitbucketError(*response);
  EXPECT_EQ(error.status, 410);
  EXPECT_TRUE(error.gone);
  EXPECT_NE(error.message.find("CHANGE-2770"), std::string::npos);
  EXPECT_EQ(error.announcement_url,
            "https://developer.atlassian.com/cloud/bitbucket/changelog#CHANGE-2770");
}

TEST_F(ServiceClientsTest, GroupWriteInAnAdminManagedWorkspaceIsA405WithAPlainTextBody) {
  auto added = Bitbucket(Consumer()).AddGroupMember("ws-managed", "administrators", kServiceUser);
  ASSERT_FALSE(added.ok());
  auto error = http::ServiceErrorOf(added.status());
  ASSERT_TRUE(error.has_value()) << added.status();
  EXPECT_EQ(error->status, 405);
  EXPECT_EQ(error->message, "None");
  EXPECT_NE(added.status().message().find("admin.atlassian.com"), std::string::npos);
}

TEST_F(ServiceClientsTest, GroupMembershipRoundTripThroughTheOneZeroApi) {
  BitbucketClient client = Bitbucket(Consumer());
  auto added = client.AddGroupMember("ws-001", "administrators", kServiceUser);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->uuid, kServiceUser);

  auto members = client.ListGroupMembers("ws-001", "administrators");
  ASSERT_TRUE(members.ok()) << members.status();
  ASSERT_TRUE(members->has_value());
  EXPECT_EQ((*members)->size(), 2u);

  auto again = client.AddGroupMember("ws-001", "administrators", kServiceUser);
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();

  EXPECT_TRUE(client.RemoveGroupMember("ws-001", "administrators", kServiceUser).ok());
  EXPECT_TRUE(absl::IsNotFound(client.RemoveGroupMember("ws-001", "administrators", kServiceUser)));
  auto gone = client.ListGroupMembers("ws-001", "no-such-group");
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_FALSE(gone->has_value());
}

TEST_F(ServiceClientsTest, UserIsReadByAnySpellingOfItsUuidOrByItsAccountId) {
  BitbucketClient client = Bitbucket(ServiceToken());
  auto bare = client.GetUser("5D2A0C4E-3333-4A4A-8A8A-000000000003");
  ASSERT_TRUE(bare.ok()) << bare.status();
  ASSERT_TRUE(bare->has_value());
  EXPECT_EQ((*bare)->uuid, kOtherUser);
  EXPECT_EQ((*bare)->account_id, "557058:someone");
  EXPECT_EQ((*bare)->nickname, "someone");
  EXPECT_TRUE((*bare)->username.empty());  // only the caller's own object has it

  auto by_account = client.GetUser("557058:someone");
  ASSERT_TRUE(by_account.ok()) << by_account.status();
  ASSERT_TRUE(by_account->has_value());
  EXPECT_EQ((*by_account)->uuid, kOtherUser);
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/users/*"), 2);
}

TEST_F(ServiceClientsTest, UnknownUserIsNulloptAndOtherFailuresAreErrors) {
  BitbucketClient client = Bitbucket(ServiceToken());
  auto unknown = client.GetUser("{5d2a0c4e-9999-4a4a-8a8a-000000000009}");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_FALSE(unknown->has_value());
  auto no_account = client.GetUser("557058:nobody");
  ASSERT_TRUE(no_account.ok()) << no_account.status();
  EXPECT_FALSE(no_account->has_value());

  ASSERT_TRUE(emulators_
                  ->Apply({{"op", "set_scopes"},
                           {"credential", "svc-token"},
                           {"scopes", {"read:workspace:bitbucket"}}})
                  .ok());
  auto refused = client.GetUser(kOtherUser);
  EXPECT_TRUE(absl::IsPermissionDenied(refused.status())) << refused.status();
}

TEST_F(ServiceClientsTest, UserIsFoundByEmailForAWorkspaceAdministrator) {
  BitbucketClient client = Bitbucket(Consumer());  // the consumer's user owns every workspace
  auto found = client.FindWorkspaceMembersByEmail(
      "ws-001", {"ARNICA-SVC@Example.test", "nobody@example.test"});
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].user.uuid, kServiceUser);
  EXPECT_EQ((*found)[0].user.account_id, "557058:arnica-svc");
  EXPECT_EQ((*found)[0].permission, "member");

  // Quotes and backslashes travel escaped inside the query's string literal.
  auto odd = client.FindWorkspaceMembersByEmail("ws-001", {R"(o"d\d@example.test)"});
  ASSERT_TRUE(odd.ok()) << odd.status();
  EXPECT_TRUE(odd->empty());

  // Bounds are checked before anything is sent.
  int before = Calls(Service::kBitbucket, "GET", "/2.0/workspaces/ws-001/members");
  EXPECT_TRUE(absl::IsInvalidArgument(client.FindWorkspaceMembersByEmail("ws-001", {}).status()));
  std::vector<std::string> too_many(BitbucketClient::kMaxEmailsPerLookup + 1, "a@example.test");
  EXPECT_TRUE(
      absl::IsInvalidArgument(client.FindWorkspaceMembersByEmail("ws-001", too_many).status()));
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/workspaces/ws-001/members"), before);
}

TEST_F(ServiceClientsTest, UserLookupByEmailIsRefusedToAPlainMember) {
  auto refused =
      Bitbucket(ServiceToken()).FindWorkspaceMembersByEmail("ws-001", {"someone@example.test"});
  ASSERT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  auto error = http::ServiceErrorOf(refused.status());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status, 400);
  EXPECT_NE(error->message.find("administrators"), std::string::npos) << error->message;
}

TEST_F(ServiceClientsTest, AdminApiMembershipShowsInBitbucketsGroupListing) {
  AtlassianAdminClient admin = Admin();
  auto groups = admin.ListGroups("dir-1", "Administrators");
  ASSERT_TRUE(groups.ok()) << groups.status();
  ASSERT_EQ(groups->size(), 1u);
  ASSERT_TRUE(admin.AddGroupMember("dir-1", (*groups)[0].id, "557058:arnica-svc").ok());

  auto members = Bitbucket(ServiceToken()).ListGroupMembers("ws-managed", "administrators");
  // API tokens may not read 1.0 groups by default (the strict choice); use the consumer.
  members = Bitbucket(Consumer()).ListGroupMembers("ws-managed", "administrators");
  ASSERT_TRUE(members.ok()) << members.status();
  ASSERT_TRUE(members->has_value());
  EXPECT_EQ((*members)->size(), 2u);

  auto mine = admin.ListGroups("dir-1", "", "557058:arnica-svc");
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(mine->size(), 1u);
  EXPECT_TRUE(admin.RemoveGroupMember("dir-1", (*groups)[0].id, "557058:arnica-svc").ok());
  EXPECT_TRUE(
      absl::IsNotFound(admin.RemoveGroupMember("dir-1", (*groups)[0].id, "557058:arnica-svc")));
}

TEST_F(ServiceClientsTest, ArnicaIntegrationLifecycleValidatesAgainstBitbucket) {
  ArnicaClient arnica = Arnica();
  auto refused = arnica.RegisterIntegration("bitbucket", "arnica-svc", Secret("ATATT3xSVC"));
  ASSERT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  ExpectNoSecret(refused.status());

  auto created =
      arnica.RegisterIntegration("bitbucket", "arnica-svc@example.test", Secret("ATATT3xSVC"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->status, "connected");
  EXPECT_EQ(created->workspaces,
            (std::vector<std::string>{"ws-000", "ws-001", "ws-002", "ws-managed"}));

  auto synced = arnica.SyncIntegration(created->id);
  ASSERT_TRUE(synced.ok()) << synced.status();
  ASSERT_TRUE(synced->has_value());
  EXPECT_EQ((*synced)->workspaces, created->workspaces);
  auto unknown = arnica.SyncIntegration("int-404");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_FALSE(unknown->has_value());

  ASSERT_TRUE(emulators_->Apply({{"op", "revoke_credential"}, {"credential", "svc-token"}}).ok());
  auto refused_sync = arnica.SyncIntegration(created->id);
  EXPECT_TRUE(absl::IsInvalidArgument(refused_sync.status())) << refused_sync.status();
  ExpectNoSecret(refused_sync.status());
  auto read = arnica.GetIntegration(created->id);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->status, "invalid");

  EXPECT_TRUE(arnica.RemoveIntegration(created->id).ok());
  EXPECT_TRUE(absl::IsNotFound(arnica.RemoveIntegration(created->id)));
  auto gone = arnica.GetIntegration(created->id);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(ServiceClientsTest, ArnicaMissingScopeIsA403) {
  auto listed = Arnica(Secret("arnica-inventory-only")).ListIntegrations();
  ASSERT_TRUE(absl::IsPermissionDenied(listed.status())) << listed.status();
  auto repos = Arnica(Secret("arnica-inventory-only")).ListInventoryRepos();
  ASSERT_TRUE(repos.ok()) << repos.status();
  EXPECT_EQ(repos->size(), 2u);
}

// --- Retries, resets, cancellation ------------------------------------------------------------

TEST_F(ServiceClientsTest, RateLimitedCallsAreRetriedHonouringRetryAfter) {
  AddFault({{"path", "/2.0/user"}, {"status", 429}, {"retry_after", 1}, {"times", 2}});
  auto me = Bitbucket(ServiceToken()).GetCurrentUser();
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/user"), 3);
}

TEST_F(ServiceClientsTest, ServerErrorsAndResetsAreRetriedUpToThePolicy) {
  AddFault({{"path", "/2.0/user"}, {"status", 503}, {"times", 1}});
  AddFault({{"path", "/2.0/user"}, {"action", "reset"}, {"times", 1}});
  auto me = Bitbucket(ServiceToken()).GetCurrentUser();
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/user"), 3);

  AddFault({{"path", "/2.0/user"}, {"status", 502}, {"times", -1}});
  auto failed = Bitbucket(ServiceToken(), /*max_attempts=*/3).GetCurrentUser();
  ASSERT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/user"), 6);
}

TEST_F(ServiceClientsTest, NonIdempotentCallsAreNotRetried) {
  AddFault({{"service", "arnica"}, {"method", "POST"}, {"status", 503}, {"times", 1}});
  auto created =
      Arnica().RegisterIntegration("bitbucket", "arnica-svc@example.test", Secret("ATATT3xSVC"));
  ASSERT_TRUE(absl::IsUnavailable(created.status())) << created.status();
  EXPECT_EQ(Calls(Service::kArnica, "POST", "/v1/integrations/bitbucket-cloud"), 1);
}

TEST_F(ServiceClientsTest, OverallTimeoutBoundsRetryWaitsAndSlowAnswers) {
  http::ClientOptions options = http::test_support::FastRetries(5, std::chrono::seconds(60));
  options.overall_timeout = std::chrono::milliseconds(1500);
  auto client = [&] {
    return BitbucketClient(
        std::make_shared<http::Client>(options),
        {.base_url = emulators_->url(Service::kBitbucket), .credential = ServiceToken()});
  };

  // Bitbucket asks for 30 s; waiting would outlast the overall timeout, so the 503 is final.
  AddFault({{"path", "/2.0/user"}, {"status", 503}, {"retry_after", 30}, {"times", 1}});
  auto refused = client().GetCurrentUser();
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/user"), 1);

  // An answer slower than the overall timeout is cut off.
  AddFault({{"path", "/2.0/user"}, {"action", "delay"}, {"delay_ms", 20000}, {"times", -1}});
  auto slow = client().GetCurrentUser();
  EXPECT_TRUE(absl::IsDeadlineExceeded(slow.status())) << slow.status();
}

TEST_F(ServiceClientsTest, StopAbortsACallInFlight) {
  AddFault({{"path", "/2.0/user"}, {"action", "delay"}, {"delay_ms", 20000}});
  BitbucketClient client = Bitbucket(ServiceToken());
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop.request_stop();
  });
  auto me = client.GetCurrentUser(stop.get_token());
  stopper.join();
  // Without cancellation the call would have waited out the delay and succeeded.
  EXPECT_TRUE(absl::IsCancelled(me.status())) << me.status();
}

// --- Pagination -------------------------------------------------------------------------------

class PaginationTest : public ServiceClientsTest, public testing::WithParamInterface<int> {
 protected:
  void SetUp() override { Start(Seed(GetParam())); }
};

TEST_P(PaginationTest, ListsEveryWorkspaceAcrossPages) {
  auto workspaces = Bitbucket(ServiceToken()).ListUserWorkspaces(std::nullopt);
  ASSERT_TRUE(workspaces.ok()) << workspaces.status();
  EXPECT_EQ(workspaces->size(), static_cast<std::size_t>(GetParam() + 1));  // + ws-managed
  int pages = (GetParam() + 1 + 99) / 100;
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/user/workspaces"), pages);
  EXPECT_EQ(workspaces->front().slug, GetParam() > 0 ? "ws-000" : "ws-managed");
}

// Seed(n) has n workspaces besides ws-managed: 1, 100 and 101 in all (0 is the test below).
INSTANTIATE_TEST_SUITE_P(OneHundredAndOneHundredOne, PaginationTest, testing::Values(0, 99, 100));

TEST_F(ServiceClientsTest, EmptyListIsOnePageAndNoItems) {
  Start(Seed(0));
  ASSERT_TRUE(emulators_->Apply({{"op", "remove_workspace"}, {"workspace", "ws-managed"}}).ok());
  auto workspaces = Bitbucket(ServiceToken()).ListUserWorkspaces(std::nullopt);
  ASSERT_TRUE(workspaces.ok()) << workspaces.status();
  EXPECT_TRUE(workspaces->empty());
  EXPECT_EQ(Calls(Service::kBitbucket, "GET", "/2.0/user/workspaces"), 1);
}

TEST_F(ServiceClientsTest, AFailedPageFailsTheWholeListing) {
  Start(Seed(150));
  for (const json& fault :
       {json{{"path", "/2.0/user/workspaces"}, {"page", 2}, {"status", 500}, {"times", -1}},
        json{{"path", "/2.0/user/workspaces"}, {"page", 2}, {"action", "truncate"}, {"times", -1}},
        json{{"path", "/2.0/user/workspaces"},
             {"page", 2},
             {"action", "non_json"},
             {"times", -1}}}) {
    emulators_->ClearFaults();
    AddFault(fault);
    auto workspaces =
        Bitbucket(ServiceToken(), /*max_attempts=*/2).ListUserWorkspaces(std::nullopt);
    EXPECT_FALSE(workspaces.ok()) << fault.dump() << " gave " << workspaces->size() << " items";
  }
}

TEST_F(ServiceClientsTest, AdminApiAndArnicaInventoryPageToTheEnd) {
  json seed = Seed(1);
  for (int i = 0; i < 250; ++i) {
    seed["arnica_tenants"][0]["inventory"].push_back({{"id", absl::StrCat("bulk-", i)},
                                                      {"workspace", "ws-000"},
                                                      {"name", absl::StrCat("r", i)}});
  }
  Start(seed);
  auto repos = Arnica().ListInventoryRepos();
  ASSERT_TRUE(repos.ok()) << repos.status();
  EXPECT_EQ(repos->size(), 252u);
  EXPECT_EQ(Calls(Service::kArnica, "GET", "/v1/inventory/repos"), 3);

  AddFault({{"service", "arnica"},
            {"path", "/v1/inventory/repos"},
            {"action", "non_json"},
            {"skip", 1}});
  EXPECT_FALSE(Arnica().ListInventoryRepos().ok());
}

// --- Secrets ----------------------------------------------------------------------------------

TEST_F(ServiceClientsTest, NoSecretInAnyLogLineOrMessageAtTrace) {
  plugin::LogLevel saved = plugin::Log::level();
  plugin::Log::SetLevel(plugin::LogLevel::kTrace);
  AddFault({{"path", "/2.0/user"}, {"status", 503}, {"times", 1}});
  testing::internal::CaptureStderr();
  std::vector<absl::Status> statuses = {
      Bitbucket(ServiceToken()).GetCurrentUser().status(),
      Bitbucket(ApiToken{"arnica-svc", Secret("ATATT3xSVC")}).GetCurrentUser().status(),
      Bitbucket(AppPassword{"arnica-svc", Secret("app-pw")}).GetCurrentUser().status(),
      Bitbucket(AccessToken{Secret("ws-access")}).GetCurrentUser().status(),
      Bitbucket(Consumer()).GetCurrentUser().status(),
      Admin().ListDirectories().status(),
      Admin(Secret("wrong")).ListDirectories().status(),
      Arnica().CheckToken().status(),
      Arnica(Secret("wrong")).CheckToken().status(),
      Arnica().RegisterIntegration("x", "arnica-svc", Secret("ATATT3xSVC")).status(),
  };
  std::string log = testing::internal::GetCapturedStderr();
  plugin::Log::SetLevel(saved);

  EXPECT_NE(log.find("\"http_path\":\"/2.0/user\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"http_status\":503"), std::string::npos) << log;
  EXPECT_EQ(log.find(kCanary), std::string::npos) << log;
  for (const absl::Status& status : statuses) ExpectNoSecret(status);
  std::string base64 = absl::Base64Escape("arnica-svc@example.test:" + Secret("ATATT3xSVC"));
  EXPECT_EQ(log.find(base64.substr(0, 24)), std::string::npos);
  for (const auto& entry : emulators_->Requests()) {
    EXPECT_EQ(emulators::ToJson(entry).dump().find(kCanary), std::string::npos);
  }
}

}  // namespace
}  // namespace arnica::clients
