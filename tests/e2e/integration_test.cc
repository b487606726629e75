// End-to-end: arnica_bitbucket_integration on its own, driven by a real OpenTofu against the
// emulators: Arnica's refusals, the API key check at configure time, a name Arnica already has
// (and importing it), rotation, the masked secret, deletion of an integration already gone, and
// the mistakes caught before any request. (The quickstart test covers drift and faults.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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
  void Write(const std::string& body, const std::string& arnica_key = kArnicaKey) {
    workspace_->WriteConfig(
        "provider \"arnica\" {\n"
        "  arnica {\n"
        "    base_url  = \"" +
        emulators_->url(Service::kArnica) + "\"\n    api_token = \"" + arnica_key +
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

TEST_F(IntegrationTest, ANameArnicaAlreadyHasFailsThePlanAndCanBeImported) {
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
  ASSERT_EXIT_CODE(plan, 1);
  EXPECT_TRUE(Mentions(plan, "Arnica Already Has This Integration")) << plan.Output();
  EXPECT_TRUE(Mentions(plan, "int-console")) << plan.Output();
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

}  // namespace
}  // namespace arnica::e2e
