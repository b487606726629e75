// End-to-end: OpenTofu drives the release build against the emulators (in this process, on
// 127.0.0.1): the service account put in the Administrators group of three workspaces, one of
// them administered in admin.atlassian.com, then drift, respelling, import and destroy.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "tests/e2e/tofu_harness.h"
#include "tests/emulators/emulator.h"

namespace arnica::e2e {
namespace {

namespace fs = std::filesystem;
using emulators::Emulators;
using emulators::Service;
using nlohmann::json;

constexpr char kCanary[] = "CANARY-e2e-94d1";
constexpr char kSvc[] = "{5e1c0a00-0000-4000-8000-00000000a001}";
constexpr char kSvcAccount[] = "557058:svc";
constexpr char kAdmin[] = "{5e1c0a00-0000-4000-8000-00000000a002}";
constexpr char kUuidB[] = "{7b000000-0000-4000-8000-00000000000b}";

std::string Secret(const std::string& name) { return name + "-" + kCanary; }

json SeedWorkspace(const std::string& slug, const std::string& uuid, bool managed) {
  json admins = {{"slug", "administrators"}, {"name", "Administrators"}, {"members", {kAdmin}}};
  json workspace = {{"uuid", uuid},
                    {"slug", slug},
                    {"members", {{{"user", kSvc}}, {{"user", kAdmin}, {"permission", "owner"}}}},
                    {"groups", {admins}}};
  if (managed) {
    workspace["managed"] = true;
    workspace["org_id"] = "org-1";
    workspace["directory_id"] = "dir-1";
    workspace["groups"][0]["org_group_id"] = "grp-ws-m-admins";
  }
  return workspace;
}

json Seed() {
  return {{"users",
           {{{"uuid", kSvc}, {"account_id", kSvcAccount}, {"username", "arnica-svc"}},
            {{"uuid", kAdmin}, {"account_id", "557058:admin"}, {"username", "ws-admin"}}}},
          {"workspaces",
           {SeedWorkspace("ws-a", "{7a000000-0000-4000-8000-00000000000a}", false),
            SeedWorkspace("ws-b", kUuidB, false),
            SeedWorkspace("ws-m", "{7c000000-0000-4000-8000-00000000000c}", true)}},
          {"credentials",
           {{{"id", "consumer"},
             {"kind", "oauth_consumer"},
             {"user", kAdmin},
             {"client_id", "consumer-key"},
             {"secret", Secret("consumer-secret")},
             {"scopes", {"account", "account:write"}}}}},
          {"orgs",
           {{{"id", "org-1"},
             {"api_key", Secret("org-key")},
             {"directories", {{{"id", "dir-1"}, {"name", "Example"}}}}}}}};
}

class MembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TofuBinary().empty()) << "ARNICA_TOFU must name an OpenTofu binary.";
    auto started = Emulators::Start({.seed = Seed()});
    ASSERT_TRUE(started.ok()) << started.status();
    emulators_ = *std::move(started);
    workspace_ = std::make_unique<Workspace>(fs::path(ARNICA_RELEASE_DIR));
  }

  std::string Provider() const {
    std::string bitbucket = emulators_->url(Service::kBitbucket);
    return "provider \"arnica\" {\n"
           "  bitbucket {\n"
           "    base_url            = \"" +
           bitbucket +
           "\"\n"
           "    oauth_client_id     = \"consumer-key\"\n"
           "    oauth_client_secret = \"" +
           Secret("consumer-secret") +
           "\"\n"
           "    oauth_token_url     = \"" +
           bitbucket +
           "/site/oauth2/access_token\"\n"
           "  }\n"
           "  atlassian_admin {\n"
           "    base_url = \"" +
           emulators_->url(Service::kAtlassianAdmin) +
           "\"\n"
           "    org_id   = \"org-1\"\n"
           "    api_key  = \"" +
           Secret("org-key") +
           "\"\n"
           "  }\n"
           "}\n\n";
  }

  // a by slug with an upper-case braced UUID, b by UUID with the account id, m (managed) by
  // slug with a bare UUID.
  std::string Config(const std::string& user_a = "{5E1C0A00-0000-4000-8000-00000000A001}",
                     const std::string& user_b = kSvcAccount) const {
    return Provider() +
           "resource \"arnica_bitbucket_group_membership\" \"a\" {\n"
           "  workspace = \"ws-a\"\n  user = \"" +
           user_a +
           "\"\n}\n"
           "resource \"arnica_bitbucket_group_membership\" \"b\" {\n"
           "  workspace = \"" +
           std::string(kUuidB) + "\"\n  user = \"" + user_b +
           "\"\n}\n"
           "resource \"arnica_bitbucket_group_membership\" \"m\" {\n"
           "  workspace = \"ws-m\"\n  user = \"5e1c0a00-0000-4000-8000-00000000a001\"\n}\n"
           "data \"arnica_bitbucket_workspaces\" \"all\" {}\n"
           "output \"workspaces\" {\n  value = "
           "data.arnica_bitbucket_workspaces.all.workspaces\n}\n";
  }

  bool SvcIsAdministrator(const std::string& slug) {
    return emulators_->WithWorld([&](emulators::World& world) {
      auto* workspace = world.FindWorkspace(slug);
      const auto& members = world.FindGroup(*workspace, "administrators")->members;
      return std::find(members.begin(), members.end(), kSvc) != members.end();
    });
  }

  std::unique_ptr<Emulators> emulators_;
  std::unique_ptr<Workspace> workspace_;
};

TEST_F(MembershipTest, ApplyDriftRespellImportAndDestroy) {
  workspace_->WriteConfig(Config());
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_TRUE(SvcIsAdministrator("ws-a"));
  EXPECT_TRUE(SvcIsAdministrator("ws-b"));
  EXPECT_TRUE(SvcIsAdministrator("ws-m"));  // through the Atlassian Admin API
  EXPECT_GT(emulators_->Count(Service::kAtlassianAdmin, "POST", ""), 0);

  auto outputs = ParseHostJson(workspace_->Tofu({"output", "-json"}).stdout_text);
  ASSERT_EQ(outputs["workspaces"]["value"].size(), 3u) << outputs.dump();
  EXPECT_EQ(outputs["workspaces"]["value"][2]["slug"], "ws-m");
  EXPECT_EQ(outputs["workspaces"]["value"][2]["admin_managed"], true);
  EXPECT_EQ(outputs["workspaces"]["value"][0]["admin_managed"], false);

  // A second plan is empty.
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}), 0);

  // Drift: the member removed in Bitbucket is planned back, and only that.
  ASSERT_TRUE(emulators_
                  ->Apply({{"op", "remove_group_member"},
                           {"workspace", "ws-a"},
                           {"group", "administrators"},
                           {"user", kSvc}})
                  .ok());
  auto drift = workspace_->Tofu({"plan", "-detailed-exitcode"});
  EXPECT_EXIT_CODE(drift, 2);
  EXPECT_NE(drift.stdout_text.find("arnica_bitbucket_group_membership.a will be created"),
            std::string::npos)
      << drift.stdout_text;
  EXPECT_NE(drift.stdout_text.find("1 to add, 0 to change, 0 to destroy"), std::string::npos)
      << drift.stdout_text;
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_TRUE(SvcIsAdministrator("ws-a"));

  // Other spellings of the same users are no change.
  workspace_->WriteConfig(Config("5e1c0a00-0000-4000-8000-00000000a001", kSvc));
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}), 0);

  // Import by ID adopts the existing membership.
  ASSERT_EXIT_CODE(workspace_->Tofu({"state", "rm", "arnica_bitbucket_group_membership.b"}), 0);
  ASSERT_EXIT_CODE(workspace_->Tofu({"import", "arnica_bitbucket_group_membership.b",
                                     std::string("ws-b/administrators/") + kSvc}),
                   0);
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}), 0);

  // Destroy removes every membership it made, also in the managed workspace.
  ASSERT_EXIT_CODE(workspace_->Tofu({"destroy", "-auto-approve"}), 0);
  EXPECT_FALSE(SvcIsAdministrator("ws-a"));
  EXPECT_FALSE(SvcIsAdministrator("ws-b"));
  EXPECT_FALSE(SvcIsAdministrator("ws-m"));

  // No secret reached state, plans, output or the TRACE log of the whole run.
  EXPECT_EQ(workspace_->EverythingWritten().find(kCanary), std::string::npos);
  EXPECT_EQ(workspace_->history().find(kCanary), std::string::npos);
}

TEST_F(MembershipTest, AUserOutsideTheWorkspaceIsADiagnosticThatSaysWhatToDo) {
  ASSERT_TRUE(emulators_
                  ->Apply({{"op", "add_user"},
                           {"value",
                            {{"uuid", "{5e1c0a00-0000-4000-8000-00000000a009}"},
                             {"account_id", "557058:stranger"}}}})
                  .ok());
  workspace_->WriteConfig(Provider() +
                          "resource \"arnica_bitbucket_group_membership\" \"x\" {\n"
                          "  workspace = \"ws-a\"\n  user = \"557058:stranger\"\n}\n");
  auto applied = workspace_->Tofu({"apply", "-auto-approve"});
  EXPECT_NE(applied.exit_code, 0);
  EXPECT_NE(applied.Output().find("User Not In Workspace"), std::string::npos) << applied.Output();
  EXPECT_NE(applied.Output().find("Invite the user"), std::string::npos);
}

// A workspace that turns on an IP allowlist without the provider's address on it: the refresh
// fails, and the plan says which workspace, where its allowlist is, and what to put on it (this
// machine, and Arnica's published addresses).
TEST_F(MembershipTest, AWorkspaceWhoseIpAllowlistBlocksFailsThePlanNamingWhatToAllow) {
  workspace_->WriteConfig(Provider() +
                          "resource \"arnica_bitbucket_group_membership\" \"a\" {\n"
                          "  workspace = \"ws-a\"\n  user = \"" +
                          std::string(kSvc) + "\"\n}\n");
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);
  ASSERT_TRUE(emulators_->Apply({{"op", "set_ip_allowlist"}, {"workspace", "ws-a"}}).ok());

  auto plan = workspace_->Tofu({"plan"});
  EXPECT_EXIT_CODE(plan, 1);
  const std::string raw = plan.Output();
  const std::string output = OneLine(raw);
  for (const char* expected :
       {"Cannot Read Group Members",
        "for the workspace ws-a because of the workspace's IP allowlist",
        "https://bitbucket.org/ws-a/workspace/settings/access-controls",
        "the public IP address of the machine running OpenTofu", "Arnica cannot read ws-a",
        "Arnica US 18.221.115.1,", "Arnica EU 18.199.13.52,"}) {
    EXPECT_NE(output.find(expected), std::string::npos) << expected << "\n" << raw;
  }

  // Allowed again, the membership is as applied.
  ASSERT_TRUE(
      emulators_->Apply({{"op", "set_ip_allowlist"}, {"workspace", "ws-a"}, {"blocks", false}})
          .ok());
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}), 0);
  EXPECT_TRUE(SvcIsAdministrator("ws-a"));
  EXPECT_EQ(workspace_->history().find(kCanary), std::string::npos);
}

TEST_F(MembershipTest, AManagedWorkspaceWithoutTheAdminBlockNamesTheBlock) {
  std::string bitbucket = emulators_->url(Service::kBitbucket);
  workspace_->WriteConfig(
      "provider \"arnica\" {\n  bitbucket {\n    base_url = \"" + bitbucket +
      "\"\n    oauth_client_id = \"consumer-key\"\n    oauth_client_secret = \"" +
      Secret("consumer-secret") + "\"\n    oauth_token_url = \"" + bitbucket +
      "/site/oauth2/access_token\"\n  }\n}\n"
      "resource \"arnica_bitbucket_group_membership\" \"m\" {\n"
      "  workspace = \"ws-m\"\n  user = \"" +
      std::string(kSvc) + "\"\n}\n");
  auto applied = workspace_->Tofu({"apply", "-auto-approve"}, {{"ATLASSIAN_ADMIN_ORG_ID", ""},
                                                               {"ATLASSIAN_ADMIN_API_KEY", ""}});
  EXPECT_NE(applied.exit_code, 0);
  EXPECT_NE(applied.Output().find("atlassian_admin"), std::string::npos) << applied.Output();
  EXPECT_FALSE(SvcIsAdministrator("ws-m"));
}

TEST_F(MembershipTest, ImportBlockByIdentityAdoptsAnExistingMembership) {
  ASSERT_TRUE(emulators_
                  ->Apply({{"op", "add_group_member"},
                           {"workspace", "ws-b"},
                           {"group", "administrators"},
                           {"user", kSvc}})
                  .ok());
  workspace_->WriteConfig(Provider() +
                          "import {\n  to = arnica_bitbucket_group_membership.b\n"
                          "  identity = { workspace = \"ws-b\", group = \"administrators\", "
                          "user = \"" +
                          std::string(kSvc) +
                          "\" }\n}\n"
                          "resource \"arnica_bitbucket_group_membership\" \"b\" {\n"
                          "  workspace = \"ws-b\"\n  user = \"" +
                          std::string(kSvcAccount) + "\"\n}\n");
  auto applied = workspace_->Tofu({"apply", "-auto-approve"});
  ASSERT_EXIT_CODE(applied, 0);
  EXPECT_NE(applied.stdout_text.find("1 imported, 0 added, 0 changed"), std::string::npos)
      << applied.Output();
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}), 0);
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "PUT", ""), 0);  // adopted, not re-added
}

// A credential known only after apply is never replaced by a default or the environment: the
// plan says which value it needs.
TEST_F(MembershipTest, ProviderValuesUnknownAtPlanAreNamedNotGuessed) {
  std::string bitbucket = emulators_->url(Service::kBitbucket);
  workspace_->WriteConfig(
      "resource \"terraform_data\" \"late\" {\n  input = \"consumer-key\"\n}\n"
      "provider \"arnica\" {\n  bitbucket {\n    base_url = \"" +
      bitbucket +
      "\"\n    oauth_client_id = terraform_data.late.output\n    oauth_client_secret = \"" +
      Secret("consumer-secret") + "\"\n    oauth_token_url = \"" + bitbucket +
      "/site/oauth2/access_token\"\n  }\n}\n" +
      "resource \"arnica_bitbucket_group_memberships\" "
      "\"svc\" {\n  user = \"" +
      std::string(kSvc) + "\"\n}\n");
  auto plan = workspace_->Tofu({"plan"}, {{"BITBUCKET_OAUTH_CLIENT_ID", "consumer-key"}});
  EXPECT_EXIT_CODE(plan, 1);
  EXPECT_NE(plan.Output().find("Provider Configuration Not Known Yet"), std::string::npos)
      << plan.Output();
  EXPECT_NE(plan.Output().find("bitbucket.oauth_client_id"), std::string::npos);
  EXPECT_EQ(emulators_->Count(Service::kBitbucket, "", ""), 0);
}

std::string PluralConfig(const std::string& provider, const std::string& user) {
  return provider + "resource \"arnica_bitbucket_group_memberships\" \"svc\" {\n  user = \"" +
         user + "\"\n}\n";
}

// Import by `group/user`: the workspaces where the user already is in the group plan nothing, the
// others one in-place update that adds it there; a malformed id is refused before any request.
TEST_F(MembershipTest, PluralResourceImportsByGroupAndUser) {
  ASSERT_TRUE(emulators_
                  ->Apply({{"op", "add_group_member"},
                           {"workspace", "ws-a"},
                           {"group", "administrators"},
                           {"user", kSvc}})
                  .ok());
  workspace_->WriteConfig(PluralConfig(Provider(), kSvcAccount));
  CommandResult refused =
      workspace_->Tofu({"import", "arnica_bitbucket_group_memberships.svc", "administrators"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(Mentions(refused, "Invalid Import ID")) << refused.Output();

  CommandResult imported = workspace_->Tofu(
      {"import", "arnica_bitbucket_group_memberships.svc", std::string("administrators/") + kSvc});
  ASSERT_EXIT_CODE(imported, 0);
  CommandResult plan = workspace_->Tofu({"plan", "-detailed-exitcode"});
  ASSERT_EXIT_CODE(plan, 2);
  EXPECT_TRUE(Mentions(plan, "Plan: 0 to add, 1 to change, 0 to destroy.")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "member = false -> true")) << plan.Output();
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);
  for (const char* slug : {"ws-a", "ws-b", "ws-m"}) EXPECT_TRUE(SvcIsAdministrator(slug)) << slug;
  EXPECT_EQ(workspace_->Tofu({"plan", "-detailed-exitcode"}).exit_code, 0);
}

TEST_F(MembershipTest, PluralResourceFollowsWorkspacesAsTheyComeAndGo) {
  workspace_->WriteConfig(PluralConfig(Provider(), kSvcAccount));
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);
  for (const char* slug : {"ws-a", "ws-b", "ws-m"}) EXPECT_TRUE(SvcIsAdministrator(slug)) << slug;
  EXPECT_EXIT_CODE(workspace_->Tofu({"plan", "-detailed-exitcode"}), 0);

  // A removed member is planned back, in that workspace only.
  ASSERT_TRUE(emulators_
                  ->Apply({{"op", "remove_group_member"},
                           {"workspace", "ws-b"},
                           {"group", "administrators"},
                           {"user", kSvc}})
                  .ok());
  auto readd = workspace_->Tofu({"plan", "-detailed-exitcode"});
  EXPECT_EXIT_CODE(readd, 2);
  EXPECT_NE(readd.stdout_text.find("~ member = false -> true"), std::string::npos)
      << readd.stdout_text;
  EXPECT_NE(readd.stdout_text.find("0 to add, 1 to change, 0 to destroy"), std::string::npos);
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_TRUE(SvcIsAdministrator("ws-b"));

  // A new workspace is planned as an addition to the map.
  ASSERT_TRUE(
      emulators_
          ->Apply(
              {{"op", "add_workspace"},
               {"value", SeedWorkspace("ws-new", "{7d000000-0000-4000-8000-00000000000d}", false)}})
          .ok());
  auto added = workspace_->Tofu({"plan", "-detailed-exitcode"});
  EXPECT_EXIT_CODE(added, 2);
  EXPECT_NE(added.stdout_text.find("+ \"ws-new\""), std::string::npos) << added.stdout_text;
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_TRUE(SvcIsAdministrator("ws-new"));

  // A deleted workspace leaves the map without an error.
  ASSERT_TRUE(emulators_->Apply({{"op", "remove_workspace"}, {"workspace", "ws-a"}}).ok());
  auto deleted = workspace_->Tofu({"plan", "-detailed-exitcode"});
  EXPECT_NE(deleted.exit_code, 1) << deleted.Output();
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);
  auto state = ParseHostJson(workspace_->ReadFile("terraform.tfstate"));
  auto memberships = state["resources"][0]["instances"][0]["attributes"]["memberships"];
  EXPECT_FALSE(memberships.contains("ws-a")) << memberships.dump();
  EXPECT_TRUE(memberships.contains("ws-new")) << memberships.dump();

  ASSERT_EXIT_CODE(workspace_->Tofu({"destroy", "-auto-approve"}), 0);
  for (const char* slug : {"ws-b", "ws-m", "ws-new"}) EXPECT_FALSE(SvcIsAdministrator(slug));
  EXPECT_EQ(workspace_->EverythingWritten().find(kCanary), std::string::npos);
}

// The rule: a discovery that fails part-way fails the plan and never plans a removal.
TEST_F(MembershipTest, ADiscoveryFailingOnPageTwoFailsThePlanAndLeavesStateAlone) {
  for (int i = 0; i < 120; ++i) {
    char uuid[64], slug[32];
    std::snprintf(uuid, sizeof(uuid), "{7e000000-0000-4000-8000-%012d}", i);
    std::snprintf(slug, sizeof(slug), "bulk-%03d", i);
    ASSERT_TRUE(
        emulators_->Apply({{"op", "add_workspace"}, {"value", SeedWorkspace(slug, uuid, false)}})
            .ok());
  }
  workspace_->WriteConfig(PluralConfig(Provider(), kSvc));
  ASSERT_EXIT_CODE(workspace_->Tofu({"apply", "-auto-approve"}), 0);
  std::string before = workspace_->ReadFile("terraform.tfstate");

  auto fault = emulators::FaultFromJson(
      {{"path", "/2.0/user/workspaces"}, {"page", 2}, {"status", 500}, {"times", -1}});
  emulators_->AddFault(*fault);
  auto plan = workspace_->Tofu({"plan", "-detailed-exitcode"});
  EXPECT_EXIT_CODE(plan, 1);
  EXPECT_NE(plan.Output().find("Cannot Discover Bitbucket Workspaces"), std::string::npos)
      << plan.Output();
  auto apply = workspace_->Tofu({"apply", "-auto-approve"});
  EXPECT_EXIT_CODE(apply, 1);
  EXPECT_EQ(workspace_->ReadFile("terraform.tfstate"), before);
  EXPECT_TRUE(SvcIsAdministrator("bulk-119"));
}

}  // namespace
}  // namespace arnica::e2e
