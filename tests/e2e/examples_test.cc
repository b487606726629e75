// Every example under examples/ is validated by the real OpenTofu with the provider's schema and
// its own validation (`tofu validate`), every import.sh names a resource its resource.tf declares,
// and every resource and data source has its example in the registry layout
// (examples/resources/<type>/resource.tf, examples/data-sources/<type>/data-source.tf).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/tofu_harness.h"

namespace arnica::e2e {
namespace {

namespace fs = std::filesystem;

const fs::path kExamples = fs::path(ARNICA_SOURCE_DIR) / "examples";

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every directory below examples/ that holds a .tf file.
std::vector<fs::path> ExampleDirectories() {
  std::set<fs::path> directories;
  for (const auto& entry : fs::recursive_directory_iterator(kExamples)) {
    if (entry.is_regular_file() && entry.path().extension() == ".tf") {
      directories.insert(entry.path().parent_path());
    }
  }
  return {directories.begin(), directories.end()};
}

TEST(ExamplesTest, EveryExampleValidatesWithTheRealHost) {
  ASSERT_FALSE(TofuBinary().empty()) << "ARNICA_TOFU must name an OpenTofu binary.";
  std::vector<fs::path> directories = ExampleDirectories();
  ASSERT_GE(directories.size(), 9u);
  for (const fs::path& directory : directories) {
    SCOPED_TRACE(fs::relative(directory, kExamples).string());
    Workspace workspace(ARNICA_RELEASE_DIR);
    bool has_terraform_block = false;
    for (const auto& entry : fs::directory_iterator(directory)) {
      if (entry.path().extension() != ".tf") continue;
      std::string text = ReadText(entry.path());
      has_terraform_block |= text.find("required_providers") != std::string::npos;
      workspace.WriteFile(entry.path().filename().string(), text);
    }
    // The per-object examples leave out the terraform block, as registry examples do.
    if (!has_terraform_block) {
      workspace.WriteFile("versions.tf",
                          "terraform {\n  required_providers {\n    arnica = { source = "
                          "\"arnica/arnica\" }\n  }\n}\n");
    }
    CommandResult validated = workspace.Tofu({"validate", "-no-color"});
    EXPECT_EXIT_CODE(validated, 0);
    EXPECT_TRUE(Mentions(validated, "The configuration is valid")) << validated.Output();
  }
}

TEST(ExamplesTest, EveryImportScriptNamesAResourceItsExampleDeclares) {
  const std::regex command(R"(tofu import ([a-z_]+)\.([a-z_0-9]+) \S+)");
  int scripts = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kExamples / "resources")) {
    if (entry.path().filename() != "import.sh") continue;
    ++scripts;
    SCOPED_TRACE(entry.path().string());
    std::string script = ReadText(entry.path());
    std::smatch match;
    ASSERT_TRUE(std::regex_search(script, match, command)) << script;
    EXPECT_EQ(match[1].str(), entry.path().parent_path().filename().string());
    std::string resource = ReadText(entry.path().parent_path() / "resource.tf");
    EXPECT_NE(resource.find("resource \"" + match[1].str() + "\" \"" + match[2].str() + "\""),
              std::string::npos);
  }
  EXPECT_EQ(scripts, 4);  // one per resource
}

TEST(ExamplesTest, EveryResourceAndDataSourceHasItsExample) {
  for (const char* type : {"arnica_bitbucket_credential", "arnica_bitbucket_group_membership",
                           "arnica_bitbucket_group_memberships", "arnica_bitbucket_integration"}) {
    EXPECT_TRUE(fs::exists(kExamples / "resources" / type / "resource.tf")) << type;
  }
  for (const char* type : {"arnica_bitbucket_user", "arnica_bitbucket_workspaces"}) {
    EXPECT_TRUE(fs::exists(kExamples / "data-sources" / type / "data-source.tf")) << type;
  }
  EXPECT_TRUE(fs::exists(kExamples / "provider" / "provider.tf"));
  EXPECT_TRUE(fs::exists(kExamples / "functions" / "required_scopes" / "function.tf"));
}

}  // namespace
}  // namespace arnica::e2e
