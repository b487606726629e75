// End-to-end: arnica_bitbucket_integration on its own, driven by a real OpenTofu against the
// emulators: Arnica's refusals, the API key check at configure time, a name Arnica already has
// (and importing it), rotation, the masked secret, deletion of an integration already gone, and
// the mistakes caught before any request. (The quickstart test covers drift and faults.)
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "nlohmann/json.hpp"
#include "tests/e2e/tofu_harness.h"
#include "tests/emulators/emulator.h"
#include "tests/emulators/world.h"

namespace arnica::e2e {
namespace {

namespace fs = std::filesystem;
using emulators::Emulators;
using emulators::Service;
using nlohmann::json;

constexpr char kCanary[] = "CANARY-integration-c41d";
constexpr char kSvcEmail[] = "arnica-svc@example.com";
constexpr char kArnicaOrg[] = "arnica-org-fake-0001";
constexpr char kIntegrations[] = "/v1/integrations/bitbucket-cloud";
const std::string kToken = std::string("ATATT3xFAKE-svc-") + kCanary;
const std::string kArnicaKey = std::string("arnica-key-") + kCanary;

json Seed() {
  std::ifstream in(fs::path(ARNICA_SOURCE_DIR) / "tests/emulators/seeds/quickstart.json");
  std::stringstream text;
  text << in.rdbuf();
  json seed = json::parse(text.str());
  seed["credentials"][0]["secret"] = kToken;
  seed["arnica_tenants"][0]["tokens"][0]["token"] = kArnicaKey;
  return seed;
}

class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(Seed()); }

  void Start(const json& seed) {
    ASSERT_FALSE(TofuBinary().empty()) << "ARNICA_TOFU must name an OpenTofu binary.";
    auto started = Emulators::Start({.seed = seed});
    ASSERT_TRUE(started.ok()) << started.status();
    emulators_ = *std::move(started);
    workspace_ = std::make_unique<Workspace>(fs::path(ARNICA_RELEASE_DIR));
  }

  void TearDown() override {
    if (!workspace_) return;
    EXPECT_EQ(workspace_->EverythingWritten().find(kCanary), std::string::npos);
    EXPECT_EQ(workspace_->history().find(kCanary), std::string::npos);
    // Arnica's masked form of the token never reaches the host either.
    EXPECT_EQ(workspace_->EverythingWritten().find("********"), std::string::npos);
  }

  // The integration alone; `body` replaces its arguments.
  void Write(const std::string& body, const std::string& arnica_key = kArnicaKey,
             const std::string& provider_settings = "") {
    workspace_->WriteConfig("provider \"arnica\" {\n" + provider_settings +
                            "  arnica {\n"
                            "    base_url  = \"" +
                            emulators_->url(Service::kArnica) + "\"\n    api_token = \"" +
                            arnica_key +
                            "\"\n  }\n}\n\n"
                            "variable \"token\" {\n  type      = string\n  sensitive = true\n"
                            "  ephemeral = true\n}\n\n"
                            "resource \"arnica_bitbucket_integration\" \"this\" {\n" +
                            body + "}\n");
  }

  static std::string Arguments(int version = 1, const std::string& name = "bitbucket-cloud") {
    return "  name              = \"" + name + "\"\n  principal         = \"" + kSvcEmail +
           "\"\n  secret_wo         = var.token\n  secret_wo_version = " + std::to_string(version) +
           "\n";
  }

  CommandResult Tofu(std::vector<std::string> args, const std::string& token = kToken) {
    return workspace_->Tofu(std::move(args), {{"TF_VAR_token", token}});
  }

  json Integrations() {
    return emulators_->WithWorld([](emulators::World& world) {
      return ToJson(world)["arnica_tenants"][0].value("integrations", json::array());
    });
  }

  int ArnicaCalls(const std::string& method, const std::string& path) {
    return emulators_->Count(Service::kArnica, method, path);
  }

  std::unique_ptr<Emulators> emulators_;
  std::unique_ptr<Workspace> workspace_;
};

TEST_F(IntegrationTest, RegistersRotatesAndRemoves) {
  Write(Arguments());
  CommandResult applied = Tofu({"apply", "-auto-approve"});
  ASSERT_EXIT_CODE(applied, 0);
  ASSERT_EQ(Integrations().size(), 1u);
  EXPECT_EQ(Integrations()[0]["secret"], kToken);  // what Arnica keeps, not what it shows
  EXPECT_EQ(ArnicaCalls("POST", kIntegrations), 1);
  EXPECT_EQ(Tofu({"plan", "-detailed-exitcode"}).exit_code, 0);

  // Rotation: a new token in Bitbucket, the version increased; Arnica gets it once.
  std::string rotated = std::string("ATATT3xFAKE-svc-2-") + kCanary;
  ASSERT_TRUE(emulators_
                  ->Apply({{"op", "add_credential"},
                           {"value",
                            {{"id", "svc-2"},
                             {"kind", "api_token"},
                             {"user", "{5e1c0a00-0000-4000-8000-00000000a001}"},
                             {"secret", rotated},
                             {"scopes",
                              {"read:user:bitbucket", "read:workspace:bitbucket",
                               "read:repository:bitbucket"}}}}})
                  .ok());
  Write(Arguments(2));
  CommandResult plan = Tofu({"plan", "-detailed-exitcode"}, rotated);
  ASSERT_EXIT_CODE(plan, 2);
  EXPECT_TRUE(Mentions(plan, "~ secret_wo_version = 1 -> 2")) << plan.Output();
  ASSERT_EXIT_CODE(Tofu({"apply", "-auto-approve"}, rotated), 0);
  EXPECT_EQ(ArnicaCalls("PUT", std::string(kIntegrations) + "/*"), 1);
  EXPECT_EQ(Integrations()[0]["secret"], rotated);
  EXPECT_EQ(Tofu({"plan", "-detailed-exitcode"}, rotated).exit_code, 0);

  // Gone in Arnica already: destroy without a refresh still succeeds.
  std::string id = Integrations()[0]["id"];
  ASSERT_TRUE(
      emulators_->Apply({{"op", "remove_integration"}, {"org", kArnicaOrg}, {"id", id}}).ok());
  CommandResult destroyed = Tofu({"destroy", "-auto-approve", "-refresh=false"}, rotated);
  ASSERT_EXIT_CODE(destroyed, 0);
  EXPECT_EQ(ArnicaCalls("DELETE", std::string(kIntegrations) + "/" + id), 1);
  EXPECT_TRUE(Integrations().empty());
}

TEST_F(IntegrationTest, ArnicaRefusingTheTokenFailsWithItsReasonAndStoresNothing) {
  Write(Arguments());
  std::string unknown = std::string("ATATT3xFAKE-unknown-") + kCanary;
  CommandResult applied = Tofu({"apply", "-auto-approve"}, unknown);
  ASSERT_EXIT_CODE(applied, 1);
  EXPECT_TRUE(Mentions(applied, "Arnica Refused the Credential")) << applied.Output();
  EXPECT_TRUE(Mentions(applied, "Bitbucket rejected the credential: HTTP 401")) << applied.Output();
  EXPECT_TRUE(Integrations().empty());
  EXPECT_EQ(workspace_->ReadFile("terraform.tfstate").find("arnica_bitbucket_integration"),
            std::string::npos);
}

TEST_F(IntegrationTest, AWrongArnicaKeyStopsThePlanAtConfigure) {
  Write(Arguments(), "wrong-key-0000");
  CommandResult plan = Tofu({"plan"});
  ASSERT_EXIT_CODE(plan, 1);
  EXPECT_TRUE(Mentions(plan, "Arnica Refused the API Token")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "wrong, expired or revoked")) << plan.Output();
  EXPECT_EQ(ArnicaCalls("GET", "/v1/auth/token"), 1);
  EXPECT_EQ(ArnicaCalls("GET", kIntegrations), 0);
}

// The plan warns (it may be replacing that very integration); apply refuses to make a second.
TEST_F(IntegrationTest, ANameArnicaAlreadyHasIsRefusedAtApplyAndCanBeImported) {
  json seed = Seed();
  seed["arnica_tenants"][0]["integrations"] = {{{"id", "int-console"},
                                                {"name", "bitbucket-cloud"},
                                                {"principal", kSvcEmail},
                                                {"secret", kToken},
                                                {"status", "connected"},
                                                {"workspaces", {"acme-labs"}}}};
  Start(seed);
  Write(Arguments());
  CommandResult plan = Tofu({"plan"});
  ASSERT_EXIT_CODE(plan, 0);
  EXPECT_TRUE(Mentions(plan, "Warning: Arnica Already Has This Integration")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "int-console")) << plan.Output();
  CommandResult applied = Tofu({"apply", "-auto-approve"});
  ASSERT_EXIT_CODE(applied, 1);
  EXPECT_TRUE(Mentions(applied, "Error: Arnica Already Has This Integration")) << applied.Output();
  EXPECT_EQ(ArnicaCalls("POST", kIntegrations), 0);

  CommandResult imported = Tofu({"import", "arnica_bitbucket_integration.this", "int-console"});
  ASSERT_EXIT_CODE(imported, 0);
  // The token cannot be read back, so the first apply sends the configured one.
  CommandResult after = Tofu({"plan", "-detailed-exitcode"});
  ASSERT_EXIT_CODE(after, 2);
  EXPECT_TRUE(Mentions(after, "+ secret_wo_version = 1")) << after.Output();
  ASSERT_EXIT_CODE(Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_EQ(ArnicaCalls("PUT", std::string(kIntegrations) + "/int-console/credentials"), 1);
  EXPECT_EQ(Tofu({"plan", "-detailed-exitcode"}).exit_code, 0);
  EXPECT_EQ(Integrations().size(), 1u);
}

TEST_F(IntegrationTest, MistakesAreCaughtBeforeAnyRequest) {
  struct Case {
    std::string body, summary, attribute;
  };
  const Case cases[] = {
      {"  name = \"x\"\n  principal = \"arnica-svc\"\n  secret_wo = var.token\n",
       "Username Given Instead of E-mail", "principal"},
      {"  name = \"x\"\n  principal = \"a@example.com\"\n  secret = \"ATCTT3xFAKE-ws\"\n",
       "Access Token Given Where an Account Is Needed", "secret"},
      {"  name = \"x\"\n  principal = \"a@example.com\"\n  secret = \"s\"\n"
       "  secret_wo = var.token\n",
       "Conflicting Secrets", "secret"},
      {"  name = \"  \"\n  principal = \"a@example.com\"\n  secret_wo = var.token\n",
       "Empty Integration Name", "name"},
      {"  name = \"x\"\n  principal = \"a@example.com\"\n  secret_wo = var.token\n"
       "  workspaces = [\"\"]\n",
       "Invalid Workspace", "workspaces"},
      // Found by trying it as a user (#6): these passed the plan, and apply then registered the
      // integration and failed on a workspace Arnica could never cover.
      {"  name = \"x\"\n  principal = \"a@example.com\"\n  secret_wo = var.token\n"
       "  workspaces = [\"ACME-LABS\"]\n",
       "did you mean \"acme-labs\"?", "workspaces"},
      {"  name = \"x\"\n  principal = \"a@example.com\"\n  secret_wo = var.token\n"
       "  workspaces = [\"Acme Labs!\"]\n",
       "which is not a workspace slug", "workspaces"},
  };
  for (const Case& c : cases) {
    Write(c.body);
    CommandResult plan = Tofu({"plan"});
    EXPECT_EXIT_CODE(plan, 1);
    EXPECT_TRUE(Mentions(plan, c.summary)) << plan.Output();
    EXPECT_TRUE(Mentions(plan, "arnica_bitbucket_integration.this"));
    EXPECT_TRUE(Mentions(plan, c.attribute)) << plan.Output();
  }
  EXPECT_EQ(ArnicaCalls("GET", kIntegrations), 0);
  EXPECT_EQ(ArnicaCalls("POST", kIntegrations), 0);
}

// Found by trying it as a user (#6): a registration that timed out was sent again while the first
// was still running, and Arnica ended up with two integrations. Now nothing is sent twice; the
// next plan names the integration Arnica did make, and import takes it over.
TEST_F(IntegrationTest, ARegistrationThatTimesOutIsNeverSentTwice) {
  Write(Arguments(), kArnicaKey, "  request_timeout = 2\n");
  emulators_->AddFault(*emulators::FaultFromJson({{"service", "arnica"},
                                                  {"method", "POST"},
                                                  {"path", kIntegrations},
                                                  {"action", "delay"},
                                                  {"delay_ms", 8000}}));
  CommandResult applied = Tofu({"apply", "-auto-approve"});
  ASSERT_EXIT_CODE(applied, 1);
  EXPECT_TRUE(Mentions(applied, "Arnica may still register it")) << applied.Output();
  for (int i = 0; i < 100 && Integrations().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(Integrations().size(), 1u);
  EXPECT_EQ(ArnicaCalls("POST", kIntegrations), 1);

  std::string id = Integrations()[0]["id"];
  CommandResult plan = Tofu({"plan"});
  ASSERT_EXIT_CODE(plan, 0);
  EXPECT_TRUE(Mentions(plan, "Warning: Arnica Already Has This Integration")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "tofu import <address> " + id)) << plan.Output();
  ASSERT_EXIT_CODE(Tofu({"import", "arnica_bitbucket_integration.this", id}), 0);
  ASSERT_EXIT_CODE(Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_EQ(Tofu({"plan", "-detailed-exitcode"}).exit_code, 0);
  EXPECT_EQ(Integrations().size(), 1u);
}

// Found by trying it as a user (#6): the plan-time name check took the integration a replace
// removes first for someone else's, so a tainted or -replace'd integration could never be
// replaced.
TEST_F(IntegrationTest, AReplacementRemovesTheOldIntegrationFirst) {
  Write(Arguments());
  ASSERT_EXIT_CODE(Tofu({"apply", "-auto-approve"}), 0);
  std::string old_id = Integrations()[0]["id"];
  CommandResult replaced =
      Tofu({"apply", "-auto-approve", "-replace=arnica_bitbucket_integration.this"});
  ASSERT_EXIT_CODE(replaced, 0);
  ASSERT_EQ(Integrations().size(), 1u);
  EXPECT_NE(Integrations()[0]["id"], old_id);
  ASSERT_EXIT_CODE(Tofu({"taint", "arnica_bitbucket_integration.this"}), 0);
  ASSERT_EXIT_CODE(Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_EQ(Integrations().size(), 1u);
  EXPECT_EQ(Tofu({"plan", "-detailed-exitcode"}).exit_code, 0);
}

// Found by trying it as a user (#6): a secret chosen by a condition was unknown at validation,
// and both attributes then counted as set ("Conflicting Secrets") whatever the condition said.
TEST_F(IntegrationTest, ASecretChosenByAConditionIsJudgedOnceKnown) {
  Write("  name      = \"bitbucket-cloud\"\n  principal = \"" + std::string(kSvcEmail) +
        "\"\n  secret_wo = var.mode == \"wo\" ? var.token : null\n"
        "  secret    = var.mode == \"plain\" ? \"ATATT3xFAKE-plain\" : null\n}\n"
        "variable \"mode\" {\n  type = string\n");
  CommandResult validated = Tofu({"validate"});
  EXPECT_EXIT_CODE(validated, 0);
  CommandResult plan = workspace_->Tofu({"plan", "-var", "mode=wo"}, {{"TF_VAR_token", kToken}});
  EXPECT_EXIT_CODE(plan, 0);
  EXPECT_FALSE(Mentions(plan, "Conflicting Secrets")) << plan.Output();
  CommandResult neither =
      workspace_->Tofu({"plan", "-var", "mode=none"}, {{"TF_VAR_token", kToken}});
  EXPECT_EXIT_CODE(neither, 1);
  EXPECT_TRUE(Mentions(neither, "Secret Missing")) << neither.Output();
}

TEST_F(IntegrationTest, AnEmptyImportIdIsRefusedBeforeAnyRequest) {
  Write(Arguments());
  CommandResult imported = Tofu({"import", "arnica_bitbucket_integration.this", ""});
  EXPECT_NE(imported.exit_code, 0);
  EXPECT_TRUE(Mentions(imported, "Invalid Import ID")) << imported.Output();
  EXPECT_EQ(ArnicaCalls("GET", std::string(kIntegrations) + "/*"), 0);
}

}  // namespace
}  // namespace arnica::e2e
