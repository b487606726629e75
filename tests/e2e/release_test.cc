// End-to-end: the release. The static release binary (CMake's terraform-provider-arnica-release,
// linked in every build) needs nothing at run time beyond glibc and libcurl; the packaging script
// turns it into exactly the registry's artifacts, signed with a throwaway GPG key; and a real
// OpenTofu installs it from a filesystem mirror built from those artifacts and applies the
// quickstart (examples/quickstart/main.tf on tests/emulators/seeds/quickstart.json) with it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/quickstart_world.h"
#include "tests/e2e/tofu_harness.h"
#include "tests/emulators/emulator.h"
#include "tests/emulators/world.h"

namespace arnica::e2e {
namespace {

namespace fs = std::filesystem;
using emulators::Emulators;
using emulators::Service;
using nlohmann::json;

constexpr char kName[] = "terraform-provider-arnica";
constexpr char kVersion[] = ARNICA_VERSION;
constexpr char kPlatform[] = "linux_amd64";
constexpr char kKeyUser[] = "Arnica release test <release-test@example.invalid>";
constexpr char kKeyEmail[] = "release-test@example.invalid";

const std::string kToken = "ATATT3xFAKE-svc-token-release";
const std::string kConsumerSecret = "consumer-secret-release";
const std::string kOrgKey = "org-key-release";
const std::string kArnicaKey = "arnica-key-release";

#ifdef ARNICA_STATIC_RELEASE_DIR
fs::path ReleaseBinary() { return fs::path(ARNICA_STATIC_RELEASE_DIR) / kName; }
#endif

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Script() {
  return (fs::path(ARNICA_SOURCE_DIR) / "scripts/package-release.sh").string();
}

// The names in a directory, sorted.
std::vector<std::string> Listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// The non-empty lines of a text.
std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

const QuickstartSecrets kSecrets = {.token = kToken,
                                    .consumer_secret = kConsumerSecret,
                                    .org_key = kOrgKey,
                                    .arnica_key = kArnicaKey};

class ReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef ARNICA_STATIC_RELEASE_DIR
    GTEST_SKIP() << "configured with -DARNICA_STATIC_RELEASE=OFF: no release binary to test";
#else
    ASSERT_TRUE(fs::exists(ReleaseBinary())) << ReleaseBinary();
#endif
  }
};

// Only glibc and libcurl at run time: gRPC, Protobuf, abseil, OpenSSL (with re2, c-ares, upb,
// zlib), libstdc++ and libgcc are linked in, and none of their symbols is exported, so the
// OpenSSL that libcurl loads never binds to ours.
TEST_F(ReleaseTest, NeedsOnlyGlibcAndLibcurlAtRunTime) {
#ifdef ARNICA_STATIC_RELEASE_DIR
  CommandResult dynamic =
      RunCommand({"/usr/bin/readelf", "--dynamic", "--wide", ReleaseBinary().string()},
                 fs::temp_directory_path(), {});
  ASSERT_EXIT_CODE(dynamic, 0);
  const std::set<std::string> allowed = {"libc.so.6",   "libm.so.6",  "libpthread.so.0",
                                         "libdl.so.2",  "librt.so.1", "ld-linux-x86-64.so.2",
                                         "libcurl.so.4"};
  std::set<std::string> needed;
  for (const std::string& line : Lines(dynamic.stdout_text)) {
    if (line.find("(NEEDED)") == std::string::npos) continue;
    size_t open = line.find('['), close = line.find(']');
    ASSERT_NE(open, std::string::npos) << line;
    needed.insert(line.substr(open + 1, close - open - 1));
  }
  EXPECT_TRUE(needed.contains("libc.so.6")) << dynamic.stdout_text;
  EXPECT_TRUE(needed.contains("libcurl.so.4")) << dynamic.stdout_text;
  for (const std::string& library : needed) {
    EXPECT_TRUE(allowed.contains(library)) << "the release binary needs " << library;
  }
  EXPECT_EQ(dynamic.stdout_text.find("RPATH"), std::string::npos) << dynamic.stdout_text;
  EXPECT_EQ(dynamic.stdout_text.find("RUNPATH"), std::string::npos) << dynamic.stdout_text;

  // What it defines for others: only glibc's copy-relocated variables (stderr and the like).
  CommandResult symbols =
      RunCommand({"/usr/bin/nm", "--dynamic", "--defined-only", ReleaseBinary().string()},
                 fs::temp_directory_path(), {});
  ASSERT_EXIT_CODE(symbols, 0);
  for (const std::string& line : Lines(symbols.stdout_text)) {
    EXPECT_NE(line.find("@GLIBC_"), std::string::npos) << "exported: " << line;
  }

  CommandResult version =
      RunCommand({ReleaseBinary().string(), "--version"}, fs::temp_directory_path(), {});
  ASSERT_EXIT_CODE(version, 0);
  EXPECT_TRUE(version.stderr_text.starts_with(std::string(kName) + " " + kVersion + " ("))
      << version.Output();
#endif
}

// The packaging script, signed with a throwaway key; a host installs the result from a
// filesystem mirror and applies the quickstart with it.
TEST_F(ReleaseTest, PackagesTheRegistryArtifactsAndTheHostInstallsThem) {
#ifdef ARNICA_STATIC_RELEASE_DIR
  ASSERT_FALSE(TofuBinary().empty()) << "ARNICA_TOFU must name an OpenTofu binary.";
  auto started = Emulators::Start({.seed = QuickstartSeed(kSecrets)});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<Emulators> emulators = *std::move(started);
  // Installed from a mirror; the harness's unpacked mirror is replaced below by the packed one.
  Workspace workspace(fs::path(ARNICA_STATIC_RELEASE_DIR), Install::kFilesystemMirror);
  fs::path gnupg = workspace.dir() / "gnupg";
  fs::create_directories(gnupg);
  fs::permissions(gnupg, fs::perms::owner_all);
  const std::map<std::string, std::string> gpg_env = {{"GNUPGHOME", gnupg.string()}};
  struct AgentStopper {  // the gpg-agent that the key generation starts, stopped at the end
    std::map<std::string, std::string> env;
    ~AgentStopper() { RunCommand({"/usr/bin/gpgconf", "--kill", "all"}, "/", env); }
  } agent_stopper{gpg_env};

  CommandResult key = workspace.Run({"/usr/bin/gpg", "--batch", "--passphrase", "",
                                     "--quick-generate-key", kKeyUser, "rsa3072", "sign", "never"},
                                    gpg_env);
  ASSERT_EXIT_CODE(key, 0);

  // Without a key, and without --skip-signing, the script refuses (before building anything).
  fs::path dist = workspace.dir() / "dist";
  std::map<std::string, std::string> unsigned_env = gpg_env;
  unsigned_env["ARNICA_GPG_KEY"] = "";
  CommandResult refused = workspace.Run(
      {"/bin/bash", Script(), "--binary", ReleaseBinary().string(), kVersion, dist.string()},
      unsigned_env, "package-release.sh");
  EXPECT_EXIT_CODE(refused, 1);
  EXPECT_TRUE(Mentions(refused, "set ARNICA_GPG_KEY")) << refused.Output();
  EXPECT_FALSE(fs::exists(dist));

  std::map<std::string, std::string> signing_env = gpg_env;
  signing_env["ARNICA_GPG_KEY"] = kKeyEmail;
  CommandResult packaged = workspace.Run(
      {"/bin/bash", Script(), "--binary", ReleaseBinary().string(), kVersion, dist.string()},
      signing_env, "package-release.sh");
  ASSERT_EXIT_CODE(packaged, 0);

  // Exactly the registry's artifacts.
  const std::string prefix = std::string(kName) + "_" + kVersion;
  const std::string zip = prefix + "_" + kPlatform + ".zip";
  const std::string manifest = prefix + "_manifest.json";
  const std::string sums = prefix + "_SHA256SUMS";
  std::vector<std::string> expected = {sums, sums + ".sig", zip, manifest};
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(Listing(dist), expected);

  // The zip holds one executable file, terraform-provider-arnica_vVERSION, the binary itself.
  CommandResult listed = workspace.Run({"/usr/bin/env", "python3", "-c",
                                        "import hashlib, sys, zipfile\n"
                                        "for info in zipfile.ZipFile(sys.argv[1]).infolist():\n"
                                        "    data = zipfile.ZipFile(sys.argv[1]).read(info)\n"
                                        "    print(info.filename, oct(info.external_attr >> 16), "
                                        "hashlib.sha256(data).hexdigest())\n",
                                        (dist / zip).string()},
                                       {}, "python3");
  ASSERT_EXIT_CODE(listed, 0);
  CommandResult binary_sum =
      RunCommand({"/usr/bin/sha256sum", ReleaseBinary().string()}, workspace.dir(), {});
  ASSERT_EXIT_CODE(binary_sum, 0);
  std::string binary_hash = binary_sum.stdout_text.substr(0, 64);
  EXPECT_EQ(listed.stdout_text,
            std::string(kName) + "_v" + kVersion + " 0o100755 " + binary_hash + "\n");

  EXPECT_EQ(json::parse(ReadText(dist / manifest)),
            json::parse(R"({"version":1,"metadata":{"protocol_versions":["6.0"]}})"));

  // SHA256SUMS: sha256sum's format, the zip and the manifest, and both check out.
  std::vector<std::string> sum_lines = Lines(ReadText(dist / sums));
  ASSERT_EQ(sum_lines.size(), 2u) << ReadText(dist / sums);
  std::set<std::string> summed;
  for (const std::string& line : sum_lines) {
    ASSERT_GT(line.size(), 66u) << line;
    EXPECT_EQ(line.find_first_not_of("0123456789abcdef"), 64u) << line;
    EXPECT_EQ(line.substr(64, 2), "  ") << line;
    summed.insert(line.substr(66));
  }
  EXPECT_EQ(summed, (std::set<std::string>{zip, manifest}));
  CommandResult checked = RunCommand({"/usr/bin/sha256sum", "--check", "--strict", sums}, dist, {});
  EXPECT_EXIT_CODE(checked, 0);

  // The detached signature is binary (not armored) and verifies; a changed file does not.
  EXPECT_NE(ReadText(dist / (sums + ".sig")).rfind("-----BEGIN", 0), 0u);
  CommandResult verified =
      workspace.Run({"/usr/bin/gpg", "--batch", "--verify", (dist / (sums + ".sig")).string(),
                     (dist / sums).string()},
                    gpg_env);
  EXPECT_EXIT_CODE(verified, 0);
  EXPECT_TRUE(Mentions(verified, std::string("Good signature from \"") + kKeyUser))
      << verified.Output();
  fs::path tampered = workspace.dir() / "tampered_SHA256SUMS";
  {
    std::ofstream out(tampered, std::ios::binary);
    out << ReadText(dist / sums)
        << "0000000000000000000000000000000000000000000000000000000000000000"
        << "  extra.zip\n";
  }
  CommandResult forged = workspace.Run(
      {"/usr/bin/gpg", "--batch", "--verify", (dist / (sums + ".sig")).string(), tampered.string()},
      gpg_env);
  EXPECT_NE(forged.exit_code, 0) << forged.Output();

  // The same binary packaged again (unsigned) gives the same zip, byte for byte.
  fs::path again = workspace.dir() / "dist-again";
  CommandResult repackaged = workspace.Run({"/bin/bash", Script(), "--skip-signing", "--binary",
                                            ReleaseBinary().string(), kVersion, again.string()},
                                           {}, "package-release.sh");
  ASSERT_EXIT_CODE(repackaged, 0);
  EXPECT_EQ(Listing(again), (std::vector<std::string>{sums, zip, manifest}));
  EXPECT_TRUE(ReadText(again / zip) == ReadText(dist / zip)) << "the zip is not reproducible";
  EXPECT_EQ(ReadText(again / sums), ReadText(dist / sums));

  // The packed mirror layout: HOSTNAME/NAMESPACE/TYPE/terraform-provider-TYPE_VERSION_OS_ARCH.zip.
  fs::remove_all(workspace.dir() / "mirror");
  fs::path mirror = workspace.dir() / "mirror/registry.opentofu.org/arnica/arnica";
  fs::create_directories(mirror);
  fs::copy_file(dist / zip, mirror / zip);

  workspace.WriteFile("main.tf",
                      ReadText(fs::path(ARNICA_SOURCE_DIR) / "examples/quickstart/main.tf"));
  const std::map<std::string, std::string> environment =
      QuickstartEnvironment(*emulators, kSecrets, kToken, 1);

  CommandResult init = workspace.Tofu({"init", "-input=false"}, environment);
  ASSERT_EXIT_CODE(init, 0);
  EXPECT_TRUE(Mentions(init, std::string("Installed arnica/arnica v") + kVersion)) << init.Output();
  // From a mirror the host records the package's own hash (h1:), not the zip's (zh:).
  std::string lock = workspace.ReadFile(".terraform.lock.hcl");
  EXPECT_NE(lock.find(std::string("version = \"") + kVersion + "\""), std::string::npos) << lock;
  EXPECT_NE(lock.find("\"h1:"), std::string::npos) << lock;
  fs::path installed = workspace.dir() /
                       ".terraform/providers/registry.opentofu.org/arnica/arnica" / kVersion /
                       kPlatform / (std::string(kName) + "_v" + kVersion);
  ASSERT_TRUE(fs::exists(installed)) << installed;
  EXPECT_TRUE(ReadText(installed) == ReadText(ReleaseBinary()));

  CommandResult applied = workspace.Tofu({"apply", "-auto-approve", "-input=false"}, environment);
  ASSERT_EXIT_CODE(applied, 0);
  EXPECT_TRUE(Mentions(applied, "Apply complete! Resources: 3 added, 0 changed, 0 destroyed."))
      << applied.Output();
  CommandResult again_plan =
      workspace.Tofu({"plan", "-detailed-exitcode", "-input=false"}, environment);
  ASSERT_EXIT_CODE(again_plan, 0);
  EXPECT_TRUE(Mentions(again_plan, "No changes.")) << again_plan.Output();

  // The provider logged its version at start.
  std::string log = workspace.ReadFile("tofu.log");
  EXPECT_TRUE(log.find("Starting provider") != std::string::npos &&
              log.find(std::string("version=") + kVersion) != std::string::npos)
      << "no start line with the version in the host's log";
#endif
}

}  // namespace
}  // namespace arnica::e2e
