// End-to-end: a real OpenTofu drives the test build of the provider through every step users
// take. Nothing here mocks the host; the provider's protocol fixture keeps its objects in a
// local directory (the workspace's store).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "nlohmann/json.hpp"
#include "tests/e2e/tofu_harness.h"

namespace arnica::e2e {
namespace {

namespace fs = std::filesystem;

// Canaries: values that must never show up where they do not belong.
constexpr char kProviderSecret[] = "canary-provider-7f3a9c2e";
constexpr char kWriteOnlySecret[] = "canary-writeonly-51b2e8d4";
constexpr char kSensitiveNote[] = "canary-sensitive-c04d1799";

std::string ProviderBlock() {
  return std::string("provider \"arnica\" {\n  fixture_token = \"") + kProviderSecret + "\"\n}\n\n";
}

std::string Thing(const std::string& name, const std::string& attributes) {
  return "resource \"arnica_protocol_fixture\" \"" + name + "\" {\n" + attributes + "}\n\n";
}

// The main configuration: `a` is exact, secret and tagged; `b` depends on a's id, which is
// unknown until apply; a data source and a provider function read them back.
std::string FullConfig(const std::string& a_name = "alpha", const std::string& a_value = "0.1") {
  return ProviderBlock() +
         Thing("a", "  name = \"" + a_name + "\"\n  value = " + a_value +
                        "\n  tags = { env = \"test\" }\n  note = \"" + kSensitiveNote +
                        "\"\n  secret_wo = \"" + kWriteOnlySecret +
                        "\"\n  secret_wo_version = 1\n") +
         Thing("b", "  name = \"child-${arnica_protocol_fixture.a.id}\"\n  value = 1e400\n") +
         "data \"arnica_protocol_fixture\" \"a\" {\n  id = arnica_protocol_fixture.a.id\n}\n\n"
         "output \"read_back\" {\n  value = data.arnica_protocol_fixture.a.value\n}\n"
         "output \"shout\" {\n  value = provider::arnica::fixture_upper(\"quiet\")\n}\n";
}

nlohmann::json State(const Workspace& workspace) {
  return ParseHostJson(workspace.ReadFile("terraform.tfstate"));
}

const nlohmann::json* Resource(const nlohmann::json& state, const std::string& mode,
                               const std::string& name) {
  for (const auto& resource : state["resources"]) {
    if (resource["mode"] == mode && resource["name"] == name) {
      return &resource["instances"][0];
    }
  }
  return nullptr;
}

size_t StoreSize(const Workspace& workspace) {
  size_t count = 0;
  for (const auto& entry : fs::directory_iterator(workspace.store())) {
    if (entry.path().extension() == ".json") ++count;
  }
  return count;
}

class TofuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TofuBinary().empty())
        << "ARNICA_TOFU must name an OpenTofu binary; scripts/test.sh builds one and sets it.";
    ASSERT_TRUE(fs::exists(TofuBinary())) << TofuBinary();
  }
  static fs::path FixtureBuild() { return ARNICA_FIXTURE_DIR; }
  static fs::path ReleaseBuild() { return ARNICA_RELEASE_DIR; }
};

TEST_F(TofuTest, ApplyThenSecondPlanIsEmpty) {
  Workspace w(FixtureBuild());
  w.WriteConfig(FullConfig());
  ASSERT_EXIT_CODE(w.Tofu({"validate"}), 0);

  ASSERT_EXIT_CODE(w.Tofu({"plan", "-out=tfplan"}), 0);
  CommandResult shown = w.Tofu({"show", "-json", "tfplan"});
  ASSERT_EXIT_CODE(shown, 0);
  nlohmann::json plan = ParseHostJson(shown.stdout_text);
  std::map<std::string, nlohmann::json> changes;
  for (const auto& change : plan["resource_changes"]) changes[change["address"]] = change["change"];
  // Values unknown at plan time...
  EXPECT_EQ(changes["arnica_protocol_fixture.a"]["after_unknown"]["id"], true);
  EXPECT_EQ(changes["arnica_protocol_fixture.b"]["after_unknown"]["name"], true);
  EXPECT_EQ(changes["arnica_protocol_fixture.a"]["after_unknown"]["revision"], true);

  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve", "tfplan"}), 0);
  // ...are known after apply.
  nlohmann::json state = State(w);
  const nlohmann::json* a = Resource(state, "managed", "a");
  const nlohmann::json* b = Resource(state, "managed", "b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ((*b)["attributes"]["value"], "<big:401 digits>");
  std::string id = (*a)["attributes"]["id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("fx-[0-9a-f]{8}"))) << id;
  EXPECT_EQ((*b)["attributes"]["name"], "child-" + id);
  EXPECT_EQ((*a)["attributes"]["revision"], 1);
  EXPECT_EQ((*a)["identity"]["id"], id);
  EXPECT_EQ(StoreSize(w), 2u);

  // The second plan finds nothing to do.
  CommandResult second = w.Tofu({"plan", "-detailed-exitcode"});
  EXPECT_EXIT_CODE(second, 0);
  EXPECT_NE(second.stdout_text.find("No changes."), std::string::npos) << second.Output();

  CommandResult outputs = w.Tofu({"output", "-json"});
  ASSERT_EXIT_CODE(outputs, 0);
  EXPECT_EQ(nlohmann::json::parse(outputs.stdout_text)["shout"]["value"], "QUIET");
}

TEST_F(TofuTest, NumbersRoundTripExactly) {
  Workspace w(FixtureBuild());
  w.WriteConfig(FullConfig());
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  // Read as text: a JSON library would turn these into doubles.
  std::string state = w.ReadFile("terraform.tfstate");
  EXPECT_NE(state.find("\"value\": 0.1,"), std::string::npos) << state;
  EXPECT_NE(state.find("\"value\": 1" + std::string(400, '0')), std::string::npos);
  CommandResult outputs = w.Tofu({"output", "-raw", "read_back"});
  EXPECT_EQ(outputs.stdout_text, "0.1");
  // The remote got the exact decimal, not 0.1000000000000000055511151231257827.
  std::string id = (*Resource(State(w), "managed", "a"))["attributes"]["id"];
  std::ifstream in(w.store() / (id + ".json"));
  nlohmann::json remote = nlohmann::json::parse(in);
  EXPECT_EQ(remote["value"], "0.1");
  EXPECT_EXIT_CODE(w.Tofu({"plan", "-detailed-exitcode"}), 0);
}

TEST_F(TofuTest, SecretsNeverReachStateLogsOrOutput) {
  Workspace w(FixtureBuild());
  w.WriteConfig(FullConfig());
  ASSERT_EXIT_CODE(w.Tofu({"plan", "-out=tfplan"}), 0);
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve", "tfplan"}), 0);
  ASSERT_EXIT_CODE(w.Tofu({"plan", "-detailed-exitcode"}), 0);
  std::string human = w.history();  // what plan and apply showed
  // Machine-readable output carries sensitive values by design, write-only ones never.
  ASSERT_EXIT_CODE(w.Tofu({"show", "-json"}), 0);

  std::string written = w.EverythingWritten();  // state, backups, plan file, trace log
  std::string history = w.history();            // everything printed
  ASSERT_NE(written.find("arnica_protocol_fixture"),
            std::string::npos);                                     // searched the right place
  ASSERT_NE(written.find("Starting provider"), std::string::npos);  // provider log reached the file
  for (const char* secret : {kProviderSecret, kWriteOnlySecret}) {
    EXPECT_EQ(written.find(secret), std::string::npos) << secret << " was written to disk";
    EXPECT_EQ(history.find(secret), std::string::npos) << secret << " was printed";
  }
  // A sensitive (not write-only) attribute is kept in state by design, but never printed.
  EXPECT_EQ(human.find(kSensitiveNote), std::string::npos);
  EXPECT_NE(human.find("(sensitive value)"), std::string::npos);
  nlohmann::json a = *Resource(State(w), "managed", "a");
  EXPECT_TRUE(a["attributes"]["secret_wo"].is_null());
}

TEST_F(TofuTest, ChangingTheWriteOnlyVersionUpdatesInPlace) {
  Workspace w(FixtureBuild());
  w.WriteConfig(FullConfig());
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  std::string config = FullConfig();
  config.replace(config.find("secret_wo_version = 1"), 21, "secret_wo_version = 2");
  w.WriteConfig(config);
  CommandResult plan = w.Tofu({"plan", "-detailed-exitcode"});
  EXPECT_EXIT_CODE(plan, 2);
  EXPECT_NE(plan.stdout_text.find("update in-place"), std::string::npos) << plan.Output();
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_EQ((*Resource(State(w), "managed", "a"))["attributes"]["revision"], 2);
  EXPECT_EXIT_CODE(w.Tofu({"plan", "-detailed-exitcode"}), 0);
}

TEST_F(TofuTest, ImportByIdAdoptsAnExistingObject) {
  Workspace w(FixtureBuild());
  w.WriteFile("store/fx-0123abcd.json",
              R"({"name": "adopted", "revision": 3, "has_secret": false, "value": "0.1",
                  "tags": {"team": "platform"}})");
  w.WriteConfig(
      Thing("x", "  name = \"adopted\"\n  value = 0.1\n  tags = { team = \"platform\" }\n"));
  CommandResult imported = w.Tofu({"import", "arnica_protocol_fixture.x", "fx-0123abcd"});
  ASSERT_EXIT_CODE(imported, 0);
  nlohmann::json x = *Resource(State(w), "managed", "x");
  EXPECT_EQ(x["attributes"]["id"], "fx-0123abcd");
  EXPECT_EQ(x["attributes"]["revision"], 3);
  EXPECT_EXIT_CODE(w.Tofu({"plan", "-detailed-exitcode"}), 0);
}

TEST_F(TofuTest, ImportByIdentityBlock) {
  Workspace w(FixtureBuild());
  w.WriteFile("store/fx-00c0ffee.json", R"({"name": "adopted", "revision": 1, "value": "2"})");
  w.WriteConfig(
      "import {\n  to = arnica_protocol_fixture.y\n  identity = { id = \"fx-00c0ffee\" }\n}\n\n" +
      Thing("y", "  name = \"adopted\"\n  value = 2\n"));
  CommandResult applied = w.Tofu({"apply", "-auto-approve"});
  ASSERT_EXIT_CODE(applied, 0);
  EXPECT_NE(applied.stdout_text.find("1 imported, 0 added, 0 changed"), std::string::npos)
      << applied.Output();
  EXPECT_EQ((*Resource(State(w), "managed", "y"))["identity"]["id"], "fx-00c0ffee");
  EXPECT_EXIT_CODE(w.Tofu({"plan", "-detailed-exitcode"}), 0);
}

TEST_F(TofuTest, ImportOfMissingOrMalformedIdIsADiagnostic) {
  Workspace w(FixtureBuild());
  w.WriteConfig(Thing("x", "  name = \"x\"\n"));
  CommandResult malformed = w.Tofu({"import", "arnica_protocol_fixture.x", "not-an-id"});
  EXPECT_EXIT_CODE(malformed, 1);
  EXPECT_NE(malformed.Output().find("Invalid Import ID"), std::string::npos) << malformed.Output();
  CommandResult missing = w.Tofu({"import", "arnica_protocol_fixture.x", "fx-deadbeef"});
  EXPECT_EXIT_CODE(missing, 1);
  EXPECT_NE(missing.Output().find("Cannot Import Non-Existent Object"), std::string::npos);
  EXPECT_FALSE(fs::exists(w.dir() / "terraform.tfstate") &&
               Resource(State(w), "managed", "x") != nullptr);
}

TEST_F(TofuTest, DestroyRemovesEverything) {
  Workspace w(FixtureBuild());
  w.WriteConfig(FullConfig());
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  ASSERT_EQ(StoreSize(w), 2u);
  CommandResult destroyed = w.Tofu({"destroy", "-auto-approve"});
  ASSERT_EXIT_CODE(destroyed, 0);
  EXPECT_NE(destroyed.stdout_text.find("2 destroyed"), std::string::npos) << destroyed.Output();
  EXPECT_EQ(StoreSize(w), 0u);
  EXPECT_TRUE(State(w)["resources"].empty());
}

TEST_F(TofuTest, ChangingARequiresReplaceAttributeReplaces) {
  Workspace w(FixtureBuild());
  w.WriteConfig(FullConfig("alpha"));
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  std::string old_id = (*Resource(State(w), "managed", "a"))["attributes"]["id"];
  w.WriteConfig(FullConfig("beta"));
  CommandResult plan = w.Tofu({"plan", "-detailed-exitcode"});
  EXPECT_EXIT_CODE(plan, 2);
  EXPECT_NE(plan.stdout_text.find("must be replaced"), std::string::npos) << plan.Output();
  EXPECT_NE(plan.stdout_text.find("# forces replacement"), std::string::npos) << plan.Output();
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  std::string new_id = (*Resource(State(w), "managed", "a"))["attributes"]["id"];
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(StoreSize(w), 2u);
  EXPECT_EXIT_CODE(w.Tofu({"plan", "-detailed-exitcode"}), 0);
}

TEST_F(TofuTest, DriftIsPlannedAndRepaired) {
  Workspace w(FixtureBuild());
  w.WriteConfig(FullConfig());
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  std::string id = (*Resource(State(w), "managed", "a"))["attributes"]["id"];
  fs::path object = w.store() / (id + ".json");
  nlohmann::json remote = nlohmann::json::parse(std::ifstream(object));
  remote["value"] = "0.5";
  std::ofstream(object, std::ios::trunc) << remote.dump();

  CommandResult plan = w.Tofu({"plan", "-detailed-exitcode"});
  EXPECT_EXIT_CODE(plan, 2);
  EXPECT_NE(plan.stdout_text.find("0.5 -> 0.1"), std::string::npos) << plan.Output();
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(object))["value"], "0.1");
  EXPECT_EXIT_CODE(w.Tofu({"plan", "-detailed-exitcode"}), 0);

  fs::remove(object);  // deleted behind our back: planned for creation again
  CommandResult recreate = w.Tofu({"plan", "-detailed-exitcode"});
  EXPECT_EXIT_CODE(recreate, 2);
  EXPECT_NE(recreate.stdout_text.find("arnica_protocol_fixture.a will be created"),
            std::string::npos)
      << recreate.Output();
}

TEST_F(TofuTest, BadInputGetsDiagnosticsWithAttributePaths) {
  Workspace w(FixtureBuild());
  w.WriteConfig(Thing("x", "  name = \"\"\n"));
  CommandResult empty_name = w.Tofu({"validate"});
  EXPECT_EXIT_CODE(empty_name, 1);
  EXPECT_NE(empty_name.Output().find("Invalid Name"), std::string::npos) << empty_name.Output();
  EXPECT_NE(empty_name.Output().find("name = \"\""), std::string::npos) << empty_name.Output();

  w.WriteConfig(Thing("x", "  name = \"x\"\n  secret_wo = \"s\"\n"));
  CommandResult no_version = w.Tofu({"validate"});
  EXPECT_EXIT_CODE(no_version, 1);
  EXPECT_NE(no_version.Output().find("Missing Secret Version"), std::string::npos);

  w.WriteConfig("provider \"arnica\" {\n  fixture_token = \"reject-me\"\n}\n" +
                Thing("x", "  name = \"x\"\n"));
  CommandResult refused = w.Tofu({"plan"});
  EXPECT_EXIT_CODE(refused, 1);
  EXPECT_NE(refused.Output().find("Invalid Fixture Token"), std::string::npos);
  EXPECT_EQ(StoreSize(w), 0u);

  w.WriteConfig(Thing("x", "  name = \"x\"\n  colour = \"red\"\n"));
  CommandResult unknown_attribute = w.Tofu({"validate"});
  EXPECT_EXIT_CODE(unknown_attribute, 1);
  EXPECT_NE(unknown_attribute.Output().find("Unsupported argument"), std::string::npos);
}

TEST_F(TofuTest, ABugInAResourceIsAnErrorNotACrash) {
  Workspace w(FixtureBuild());
  w.WriteConfig(Thing("x", "  name = \"bug-in-create\"\n") + Thing("y", "  name = \"fine\"\n"));
  CommandResult applied = w.Tofu({"apply", "-auto-approve"});
  EXPECT_EXIT_CODE(applied, 1);
  EXPECT_NE(applied.Output().find("Provider Internal Error"), std::string::npos)
      << applied.Output();
  EXPECT_EQ(applied.Output().find("plugin crashed"), std::string::npos) << applied.Output();
  EXPECT_EQ(applied.Output().find("did not respond"), std::string::npos) << applied.Output();
  // The same process went on to create the other object; the failed one is not in state.
  nlohmann::json state = State(w);
  EXPECT_EQ(Resource(state, "managed", "x"), nullptr);
  EXPECT_NE(Resource(state, "managed", "y"), nullptr);
  EXPECT_EQ(StoreSize(w), 1u);
}

TEST_F(TofuTest, IntegersBeyondInt64StayExact) {
  // Regression: 2^63 went back to the host as a float64 and came out as 9223372036854776000,
  // failing apply with "inconsistent final plan" and corrupting imported and read values.
  Workspace w(FixtureBuild());
  w.WriteFile("store/fx-0000beef.json", R"({"name": "big", "value": "18446744073709551616"})");
  w.WriteConfig(Thing("a", "  name = \"a\"\n  value = 9223372036854775808\n") +
                "data \"arnica_protocol_fixture\" \"big\" {\n  id = \"fx-0000beef\"\n}\n"
                "output \"read\" {\n  value = data.arnica_protocol_fixture.big.value\n}\n"
                "output \"difference\" {\n"
                "  value = arnica_protocol_fixture.a.value - 9223372036854775807\n}\n");
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_NE(w.ReadFile("terraform.tfstate").find("\"value\": 9223372036854775808"),
            std::string::npos);
  EXPECT_EQ(w.Tofu({"output", "-raw", "read"}).stdout_text, "18446744073709551616");
  EXPECT_EQ(w.Tofu({"output", "-raw", "difference"}).stdout_text, "1");
  EXPECT_EXIT_CODE(w.Tofu({"plan", "-detailed-exitcode"}), 0);
}

TEST_F(TofuTest, NullForARequiredAttributeFailsThePlanWithItsPath) {
  // Regression: `name = null` passed validate and plan and failed inside create.
  Workspace w(FixtureBuild());
  w.WriteConfig("variable \"n\" {\n  type = string\n  default = null\n}\n\n" +
                Thing("a", "  name = var.n\n"));
  CommandResult plan = w.Tofu({"plan"});
  EXPECT_EXIT_CODE(plan, 1);
  EXPECT_NE(plan.Output().find("Missing Required Attribute"), std::string::npos) << plan.Output();
  EXPECT_NE(plan.Output().find("name = var.n"), std::string::npos) << plan.Output();

  w.WriteConfig("data \"arnica_protocol_fixture\" \"d\" {\n  id = null\n}\n");
  CommandResult data = w.Tofu({"plan"});
  EXPECT_EXIT_CODE(data, 1);
  EXPECT_NE(data.Output().find("Missing Required Attribute"), std::string::npos) << data.Output();
  EXPECT_EQ(data.Output().find("Internal Error"), std::string::npos) << data.Output();
}

TEST_F(TofuTest, InfiniteNumbersAreRefusedBeforeAnythingIsCreated) {
  // Regression: `value = 1/0` created the object, then the host could not write its state.
  Workspace w(FixtureBuild());
  w.WriteConfig(Thing("a", "  name = \"a\"\n  value = 1/0\n"));
  CommandResult applied = w.Tofu({"apply", "-auto-approve"});
  EXPECT_EXIT_CODE(applied, 1);
  EXPECT_NE(applied.Output().find("Number Out Of Range"), std::string::npos) << applied.Output();
  EXPECT_EQ(StoreSize(w), 0u);
}

TEST_F(TofuTest, AnUnreachableOrDamagedRemoteIsAnErrorNeverADeletion) {
  Workspace w(FixtureBuild());
  w.WriteConfig(Thing("a", "  name = \"alpha\"\n  value = 0.1\n"));
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  std::string id = (*Resource(State(w), "managed", "a"))["attributes"]["id"];

  // A damaged object: an error naming it, not a crash and not a planned re-create.
  fs::path object = w.store() / (id + ".json");
  std::string saved = w.ReadFile("store/" + id + ".json");
  w.WriteFile("store/" + id + ".json", R"({"name": "alpha", "value": "abc"})");
  CommandResult damaged = w.Tofu({"plan", "-detailed-exitcode"});
  EXPECT_EXIT_CODE(damaged, 1);
  EXPECT_NE(damaged.Output().find("Corrupt Fixture Object"), std::string::npos) << damaged.Output();
  EXPECT_EQ(damaged.Output().find("did not respond"), std::string::npos) << damaged.Output();
  w.WriteFile("store/" + id + ".json", saved);

  // The whole remote unreachable: no plan may propose creating everything again.
  CommandResult unreachable =
      w.Tofu({"plan", "-detailed-exitcode"}, {{"ARNICA_FIXTURE_STORE", "/nonexistent-store"}});
  EXPECT_EXIT_CODE(unreachable, 1);
  EXPECT_NE(unreachable.Output().find("Fixture Store Missing"), std::string::npos);
  EXPECT_EQ(unreachable.Output().find("will be created"), std::string::npos);

  // A hand-edited id never becomes a path outside the store.
  w.WriteFile("outside.json", R"({"name": "victim"})");
  std::string state = w.ReadFile("terraform.tfstate");
  for (size_t at = state.find("\"" + id + "\""); at != std::string::npos;
       at = state.find("\"" + id + "\"")) {
    state.replace(at, id.size() + 2, "\"../outside\"");
  }
  w.WriteFile("terraform.tfstate", state);
  CommandResult destroyed = w.Tofu({"destroy", "-auto-approve", "-refresh=false"});
  EXPECT_NE(destroyed.exit_code, 0) << destroyed.Output();
  EXPECT_NE(destroyed.Output().find("Invalid Fixture ID"), std::string::npos) << destroyed.Output();
  EXPECT_TRUE(fs::exists(w.dir() / "outside.json"));
}

TEST_F(TofuTest, ProviderConfiguredWithValuesUnknownAtPlan) {
  Workspace w(FixtureBuild());
  w.WriteConfig(Thing("a", "  name = \"a\"\n") +
                "provider \"arnica\" {\n  alias = \"late\"\n"
                "  fixture_token = arnica_protocol_fixture.a.id\n}\n\n" +
                "resource \"arnica_protocol_fixture\" \"c\" {\n  provider = arnica.late\n"
                "  name = \"c\"\n}\n");
  ASSERT_EXIT_CODE(w.Tofu({"plan"}), 0);
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_EQ(StoreSize(w), 2u);
  EXPECT_EXIT_CODE(w.Tofu({"plan", "-detailed-exitcode"}), 0);
}

TEST_F(TofuTest, InstalledFromAFilesystemMirror) {
  Workspace w(FixtureBuild(), Install::kFilesystemMirror);
  w.WriteConfig(FullConfig(), "0.1.0");
  CommandResult init = w.Tofu({"init"});
  ASSERT_EXIT_CODE(init, 0);
  EXPECT_NE(init.Output().find("Installed arnica/arnica v0.1.0"), std::string::npos)
      << init.Output();
  EXPECT_NE(w.ReadFile(".terraform.lock.hcl").find("registry.opentofu.org/arnica/arnica"),
            std::string::npos);
  ASSERT_EXIT_CODE(w.Tofu({"apply", "-auto-approve"}), 0);
  EXPECT_EXIT_CODE(w.Tofu({"plan", "-detailed-exitcode"}), 0);
  EXPECT_EXIT_CODE(w.Tofu({"destroy", "-auto-approve"}), 0);
  EXPECT_EQ(StoreSize(w), 0u);
}

TEST_F(TofuTest, ReleaseBuildHasNoFixtures) {
  Workspace w(ReleaseBuild());
  w.WriteConfig("provider \"arnica\" {}\n");
  CommandResult schema = w.Tofu({"providers", "schema", "-json"});
  ASSERT_EXIT_CODE(schema, 0);
  nlohmann::json schemas = nlohmann::json::parse(schema.stdout_text)["provider_schemas"];
  ASSERT_TRUE(schemas.contains("registry.opentofu.org/arnica/arnica")) << schemas.dump();
  nlohmann::json provider = schemas["registry.opentofu.org/arnica/arnica"];
  EXPECT_FALSE(provider.contains("resource_schemas") &&
               provider["resource_schemas"].contains("arnica_protocol_fixture"));
  EXPECT_EQ(provider["provider"]["block"]["description_kind"], "markdown");
}

}  // namespace
}  // namespace arnica::e2e
