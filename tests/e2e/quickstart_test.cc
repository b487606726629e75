// End-to-end: the quickstart (examples/quickstart/main.tf, unchanged) applied by a real OpenTofu
// against the emulators seeded with tests/emulators/seeds/quickstart.json, the same seed the main
// job (scripts/demo.sh) uses. Apply, an empty plan, then each kind of drift in turn: the plan
// exits 2 with exactly that change, apply repairs it, and the plan is empty again. Destroy leaves
// the emulators as seeded. A second run injects faults and checks convergence in the request log.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "nlohmann/json.hpp"
#include "tests/e2e/quickstart_world.h"
#include "tests/e2e/tofu_harness.h"
#include "tests/emulators/emulator.h"
#include "tests/emulators/world.h"

namespace arnica::e2e {
namespace {

namespace fs = std::filesystem;
using emulators::Emulators;
using emulators::Fault;
using emulators::LoggedRequest;
using emulators::Service;
using nlohmann::json;

constexpr char kCanary[] = "CANARY-quickstart-5b2e";
constexpr const char* kSvcEmail = kQuickstartSvcEmail;
constexpr char kSvcUuid[] = "{5e1c0a00-0000-4000-8000-00000000a001}";
constexpr char kAdminUuid[] = "{5e1c0a00-0000-4000-8000-00000000a002}";
constexpr char kArnicaOrg[] = "arnica-org-fake-0001";
constexpr char kIntegrations[] = "/v1/integrations/bitbucket-cloud";
const std::string kToken = std::string("ATATT3xFAKE-svc-token-") + kCanary;
const std::string kRotatedToken = std::string("ATATT3xFAKE-svc-token-2-") + kCanary;
const std::string kConsumerSecret = std::string("consumer-secret-") + kCanary;
const std::string kOrgKey = std::string("org-key-") + kCanary;
const std::string kArnicaKey = std::string("arnica-key-") + kCanary;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every secret carries the canary.
const QuickstartSecrets kSecrets = {.token = kToken,
                                    .consumer_secret = kConsumerSecret,
                                    .org_key = kOrgKey,
                                    .arnica_key = kArnicaKey};

class QuickstartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TofuBinary().empty()) << "ARNICA_TOFU must name an OpenTofu binary.";
    auto started = Emulators::Start({.seed = QuickstartSeed(kSecrets)});
    ASSERT_TRUE(started.ok()) << started.status();
    emulators_ = *std::move(started);
    // Installed the way users install it, as the main job does: `tofu init` from a mirror.
    workspace_ =
        std::make_unique<Workspace>(fs::path(ARNICA_RELEASE_DIR), Install::kFilesystemMirror);
    workspace_->WriteFile("main.tf",
                          ReadText(fs::path(ARNICA_SOURCE_DIR) / "examples/quickstart/main.tf"));
    seeded_ = State();
    CommandResult init = Tofu({"init", "-input=false"});
    ASSERT_EXIT_CODE(init, 0);
  }

  void TearDown() override {
    if (!workspace_) return;
    EXPECT_EQ(workspace_->EverythingWritten().find(kCanary), std::string::npos);
    EXPECT_EQ(workspace_->history().find(kCanary), std::string::npos);
  }

  std::map<std::string, std::string> Environment(const std::string& token, int version) const {
    return QuickstartEnvironment(*emulators_, kSecrets, token, version);
  }

  CommandResult Tofu(std::vector<std::string> args) {
    return workspace_->Tofu(std::move(args), Environment(token_, version_));
  }

  CommandResult Plan() { return Tofu({"plan", "-detailed-exitcode", "-input=false"}); }
  CommandResult Apply() { return Tofu({"apply", "-auto-approve", "-input=false"}); }

  json State() {
    return emulators_->WithWorld([](emulators::World& world) { return ToJson(world); });
  }

  void Op(const json& op) {
    absl::Status applied = emulators_->Apply(op);
    ASSERT_TRUE(applied.ok()) << applied;
  }

  // The slugs of the workspaces whose Administrators group holds the service account.
  std::vector<std::string> AdministeredBySvc() {
    std::vector<std::string> slugs;
    json state = State();  // kept: a loop over a temporary's member would dangle
    for (const json& workspace : state["workspaces"]) {
      for (const json& group : workspace["groups"]) {
        if (group["slug"] != "administrators" || !group.contains("members")) continue;
        for (const json& member : group["members"]) {
          if (member == kSvcUuid) slugs.push_back(workspace["slug"]);
        }
      }
    }
    std::sort(slugs.begin(), slugs.end());
    return slugs;
  }

  json Integrations() { return State()["arnica_tenants"][0].value("integrations", json::array()); }

  // Apply, then a plan that finds nothing to do.
  void Converge() {
    CommandResult applied = Apply();
    ASSERT_EXIT_CODE(applied, 0);
    CommandResult again = Plan();
    ASSERT_EXIT_CODE(again, 0);
    EXPECT_TRUE(Mentions(again, "No changes.")) << again.Output();
  }

  std::unique_ptr<Emulators> emulators_;
  std::unique_ptr<Workspace> workspace_;
  json seeded_;
  std::string token_ = kToken;
  int version_ = 1;
};

const std::vector<std::string> kAll = {"acme-data", "acme-labs", "acme-mobile", "acme-platform"};

TEST_F(QuickstartTest, OnboardsEveryWorkspaceAndDestroyLeavesTheSeed) {
  CommandResult planned = Plan();
  ASSERT_EXIT_CODE(planned, 2);
  EXPECT_TRUE(Mentions(planned, "Plan: 3 to add, 0 to change, 0 to destroy.")) << planned.Output();
  ASSERT_NO_FATAL_FAILURE(Converge());

  EXPECT_EQ(AdministeredBySvc(), kAll);
  json integrations = Integrations();
  ASSERT_EQ(integrations.size(), 1u);
  EXPECT_EQ(integrations[0]["status"], "connected");
  EXPECT_EQ(integrations[0]["principal"], kSvcEmail);
  json output = ParseHostJson(Tofu({"output", "-json"}).stdout_text);
  EXPECT_EQ(output["covered_workspaces"]["value"], json(kAll));
  EXPECT_EQ(output["uncovered_workspaces"]["value"], json::array());
  // The managed workspace went through the Atlassian Admin API, the others through 1.0 groups.
  // (The managed workspace's 1.0 PUT answers 405 first.)
  int admin_api = 0, groups_api = 0, refused = 0;
  for (const LoggedRequest& entry : emulators_->Requests()) {
    bool ok = entry.status >= 200 && entry.status < 300;
    if (entry.method == "POST" && entry.path.starts_with("/admin/v2/orgs/")) admin_api += ok;
    if (entry.method == "PUT" && entry.path.starts_with("/1.0/groups/")) {
      groups_api += ok;
      refused += entry.status == 405;
    }
  }
  EXPECT_EQ(admin_api, 1);
  EXPECT_EQ(groups_api, 3);
  EXPECT_EQ(refused, 1);

  CommandResult destroyed = Tofu({"destroy", "-auto-approve", "-input=false"});
  ASSERT_EXIT_CODE(destroyed, 0);
  EXPECT_EQ(State(), seeded_);
}

TEST_F(QuickstartTest, EachDriftPlansExactlyItsChangeAndApplyRepairsIt) {
  ASSERT_NO_FATAL_FAILURE(Converge());

  // A member removed: only the memberships change.
  Op({{"op", "remove_group_member"},
      {"workspace", "acme-mobile"},
      {"group", "administrators"},
      {"user", kSvcUuid}});
  CommandResult plan = Plan();
  ASSERT_EXIT_CODE(plan, 2);
  EXPECT_TRUE(Mentions(plan, "Plan: 0 to add, 1 to change, 0 to destroy.")) << plan.Output();
  EXPECT_TRUE(Mentions(plan,
                       "arnica_bitbucket_group_memberships.service_account will be "
                       "updated in-place"))
      << plan.Output();
  ASSERT_NO_FATAL_FAILURE(Converge());
  EXPECT_EQ(AdministeredBySvc(), kAll);

  // A workspace added: the service account joins its Administrators group, and Arnica covers it
  // once ingestion has read its repositories.
  json added = {
      {"uuid", "{0b0e0000-0000-4000-8000-0000000000b9}"},
      {"slug", "acme-new"},
      {"members", {{{"user", kAdminUuid}, {"permission", "owner"}}, {{"user", kSvcUuid}}}},
      {"groups",
       {{{"slug", "administrators"}, {"name", "Administrators"}, {"members", {kAdminUuid}}}}},
      {"repositories",
       {{{"uuid", "{9a000000-0000-4000-8000-000000000091}"},
         {"slug", "new-service"},
         {"project", "NEW"}}}}};
  Op({{"op", "add_workspace"}, {"value", added}});
  plan = Plan();
  ASSERT_EXIT_CODE(plan, 2);
  EXPECT_TRUE(Mentions(plan, "Plan: 0 to add, 2 to change, 0 to destroy.")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "+ \"acme-new\"")) << plan.Output();
  ASSERT_NO_FATAL_FAILURE(Converge());
  std::vector<std::string> all_and_new = {"acme-data", "acme-labs", "acme-mobile", "acme-new",
                                          "acme-platform"};
  EXPECT_EQ(AdministeredBySvc(), all_and_new);

  // A workspace missing from Arnica's inventory: the integration plans its coverage back.
  Op({{"op", "remove_inventory"}, {"org", kArnicaOrg}, {"workspace", "acme-labs"}});
  plan = Plan();
  ASSERT_EXIT_CODE(plan, 2);
  EXPECT_TRUE(Mentions(plan, "Plan: 0 to add, 1 to change, 0 to destroy.")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "Workspace Not Covered by Arnica: acme-labs")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "uncovered_workspaces")) << plan.Output();
  int syncs = emulators_->Count(Service::kArnica, "POST", std::string(kIntegrations) + "/*");
  ASSERT_NO_FATAL_FAILURE(Converge());
  EXPECT_EQ(emulators_->Count(Service::kArnica, "POST", std::string(kIntegrations) + "/*"),
            syncs + 1);

  // The integration removed in Arnica: the plan registers it again.
  std::string id = Integrations()[0]["id"];
  Op({{"op", "remove_integration"}, {"org", kArnicaOrg}, {"id", id}});
  plan = Plan();
  ASSERT_EXIT_CODE(plan, 2);
  EXPECT_TRUE(Mentions(plan, "Plan: 1 to add, 0 to change, 0 to destroy.")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "arnica_bitbucket_integration.bitbucket_cloud will be created"))
      << plan.Output();
  ASSERT_NO_FATAL_FAILURE(Converge());
  ASSERT_EQ(Integrations().size(), 1u);
  EXPECT_NE(Integrations()[0]["id"], id);

  // The token revoked: Arnica reports the integration invalid and the credential's fingerprint
  // is unknown; apply with a new token (and version) repairs both.
  Op({{"op", "revoke_credential"}, {"credential", "svc-api-token"}});
  plan = Plan();
  ASSERT_EXIT_CODE(plan, 2);
  EXPECT_TRUE(Mentions(plan, "Arnica Reports the Integration Invalid")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "~ status ")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "\"invalid\" -> \"connected\"")) << plan.Output();
  json rotated = {{"id", "svc-api-token-2"},
                  {"kind", "api_token"},
                  {"user", kSvcUuid},
                  {"secret", kRotatedToken},
                  {"scopes", seeded_["credentials"][0]["scopes"]}};
  Op({{"op", "add_credential"}, {"value", rotated}});
  token_ = kRotatedToken;
  version_ = 2;
  ASSERT_NO_FATAL_FAILURE(Converge());
  EXPECT_EQ(Integrations()[0]["status"], "connected");

  CommandResult destroyed = Tofu({"destroy", "-auto-approve", "-input=false"});
  ASSERT_EXIT_CODE(destroyed, 0);
  EXPECT_TRUE(AdministeredBySvc().empty());
  EXPECT_TRUE(Integrations().empty());
}

// The CI recipe's script: exit 0 without drift, 2 (with the plan) on drift, 1 when a plan fails;
// the refresh-only plan names what changed outside OpenTofu.
TEST_F(QuickstartTest, CiDriftCheckFailsOnlyOnDrift) {
  ASSERT_NO_FATAL_FAILURE(Converge());
  std::string script = (fs::path(ARNICA_SOURCE_DIR) / "examples/ci/drift-check.sh").string();
  CommandResult clean = workspace_->Run({"/bin/bash", script}, Environment(token_, version_));
  ASSERT_EXIT_CODE(clean, 0);
  EXPECT_TRUE(Mentions(clean, "No drift.")) << clean.Output();

  Op({{"op", "remove_inventory"}, {"org", kArnicaOrg}, {"workspace", "acme-data"}});
  CommandResult drift = workspace_->Run({"/bin/bash", script}, Environment(token_, version_));
  ASSERT_EXIT_CODE(drift, 2);
  EXPECT_TRUE(Mentions(drift, "Drift:")) << drift.Output();
  EXPECT_TRUE(Mentions(drift, "Plan: 0 to add, 1 to change, 0 to destroy.")) << drift.Output();
  EXPECT_TRUE(Mentions(drift, "changed outside of OpenTofu")) << drift.Output();

  // A plan that fails is passed through, not reported as drift.
  std::map<std::string, std::string> broken = Environment(token_, version_);
  broken["ARNICA_API_TOKEN"] = "wrong-key";
  CommandResult failed = workspace_->Run({"/bin/bash", script}, broken);
  EXPECT_EXIT_CODE(failed, 1);
  EXPECT_TRUE(Mentions(failed, "Arnica Refused the API Token")) << failed.Output();
}

// Rate limits in bursts (one of them on the registration itself), one 503 and a slow answer:
// the apply still converges, the log shows each retry, and no write is made twice.
TEST_F(QuickstartTest, ConvergesThroughFaultsWithoutDuplicatedWrites) {
  auto fault = [&](json spec) {
    absl::StatusOr<Fault> parsed = emulators::FaultFromJson(spec);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    emulators_->AddFault(*parsed);
  };
  fault({{"service", "bitbucket"},
         {"path", "/2.0/user/workspaces"},
         {"status", 429},
         {"retry_after", 1},
         {"times", 2}});
  fault({{"service", "arnica"},
         {"method", "POST"},
         {"path", kIntegrations},
         {"status", 429},
         {"retry_after", 1},
         {"times", 2}});
  fault({{"service", "arnica"}, {"path", "/v1/inventory/repos"}, {"status", 429}, {"times", 3}});
  fault({{"service", "bitbucket"}, {"method", "PUT"}, {"path", "/1.0/groups/*"}, {"status", 503}});
  fault({{"service", "atlassian_admin"}, {"action", "delay"}, {"delay_ms", 2000}});
  ASSERT_NO_FATAL_FAILURE(Converge());
  for (const Fault& left : emulators_->Faults()) {
    if (left.times != 0)
      ADD_FAILURE() << "a fault did not fire: " << emulators::ToJson(left).dump();
  }

  int limited = 0, unavailable = 0, delayed = 0;
  std::map<std::string, int> writes;  // successful writes by method and path
  for (const LoggedRequest& entry : emulators_->Requests()) {
    if (entry.status == 429) ++limited;
    if (entry.status == 503) ++unavailable;
    if (entry.fault == "delay") ++delayed;
    bool write = entry.method != "GET";
    bool sync = entry.path.ends_with("/sync");  // ingestion re-runs are not writes of state
    if (write && !sync && entry.status >= 200 && entry.status < 300) {
      ++writes[entry.method + " " + entry.path];
    }
  }
  EXPECT_EQ(limited, 7);
  EXPECT_EQ(unavailable, 1);
  EXPECT_GE(delayed, 1);
  ASSERT_FALSE(writes.empty());
  for (const auto& [request, count] : writes) {
    if (request.starts_with("POST /site/oauth2/")) continue;  // token grants, not writes
    EXPECT_EQ(count, 1) << request;
  }
  EXPECT_EQ(writes["POST " + std::string(kIntegrations)], 1);
  EXPECT_EQ(AdministeredBySvc(), kAll);
  ASSERT_EQ(Integrations().size(), 1u);
}

}  // namespace
}  // namespace arnica::e2e
