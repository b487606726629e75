// The arnica-emulators runner as a process: it prints and writes its ready line, serves the admin
// routes on every service, stops cleanly on SIGTERM or SIGINT, and refuses bad flags and seeds
// with exit code 2. Every wait has a deadline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/e2e/plugin_process.h"

namespace arnica::e2e {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kServices[][16] = {"bitbucket", "atlassian_admin", "arnica"};

std::string DefaultSeed() {
  return std::string(ARNICA_SOURCE_DIR) + "/tests/emulators/seeds/default.json";
}

// A fresh directory for one test, removed with it.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (fs::temp_directory_path() / "arnica-emulators-cli-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<PluginProcess> StartRunner(std::vector<std::string> args, const std::string& tmp) {
  PluginProcess::Options options;
  options.binary = ARNICA_EMULATORS_BINARY;
  options.args = std::move(args);
  options.env = {{"TMPDIR", tmp}};
  return std::make_unique<PluginProcess>(std::move(options));
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// One plain-HTTP GET over a fresh connection to 127.0.0.1; returns everything the server sent.
std::string HttpGet(const std::string& url, const std::string& path) {
  int port = std::stoi(url.substr(url.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string received;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) received.append(buffer, n);
  }
  ::close(fd);
  return received;
}

class EmulatorsCliSignals : public ::testing::TestWithParam<int> {};

TEST_P(EmulatorsCliSignals, ServesUntilTheSignalThenExitsZero) {
  TemporaryDirectory tmp;
  ASSERT_FALSE(tmp.path().empty());
  std::string ready_file = tmp.path() + "/ready.json";
  auto runner = StartRunner({"--seed", DefaultSeed(), "--ready-file", ready_file}, tmp.path());
  ASSERT_TRUE(runner->started()) << runner->spawn_error();

  auto line = runner->ReadStdoutLine();
  ASSERT_TRUE(line) << runner->Stderr();
  json ready = json::parse(*line, nullptr, false);
  ASSERT_TRUE(ready.is_object()) << *line;
  EXPECT_EQ(ReadFile(ready_file), *line + "\n");
  EXPECT_EQ(ready["pid"], runner->pid());
  EXPECT_EQ(ready["ca_file"], "");
  for (const char* service : kServices) {
    SCOPED_TRACE(service);
    std::string url = ready[service];
    ASSERT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << url;
    std::string answer = HttpGet(url, "/_emulator/health");
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
    EXPECT_NE(answer.find("\"service\":\"" + std::string(service) + "\""), std::string::npos);
  }

  ASSERT_TRUE(runner->Signal(GetParam()));
  auto exit = runner->Wait();
  ASSERT_TRUE(exit) << "still running after the signal";
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->Describe() << "\n" << runner->Stderr();
  EXPECT_FALSE(fs::exists(ready_file));
}

INSTANTIATE_TEST_SUITE_P(EmulatorsCli, EmulatorsCliSignals, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& info) { return info.param == SIGTERM ? "Term" : "Int"; });

TEST(EmulatorsCliTls, WritesItsCaIntoTheTlsDirectory) {
  TemporaryDirectory tmp;
  auto runner =
      StartRunner({"--seed=" + DefaultSeed(), "--tls", "--tls-dir", tmp.path()}, tmp.path());
  auto line = runner->ReadStdoutLine();
  ASSERT_TRUE(line) << runner->Stderr();
  json ready = json::parse(*line, nullptr, false);
  EXPECT_EQ(ready["ca_file"], tmp.path() + "/ca.pem");
  EXPECT_TRUE(fs::exists(tmp.path() + "/ca.pem"));
  for (const char* service : kServices) {
    EXPECT_EQ(ready[service].get<std::string>().rfind("https://127.0.0.1:", 0), 0u);
  }
  ASSERT_TRUE(runner->Signal(SIGTERM));
  auto exit = runner->Wait();
  ASSERT_TRUE(exit);
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->Describe();
}

// Exit code 2 and a message on stderr that names the problem; nothing on stdout.
void ExpectRefused(const std::vector<std::string>& args, const std::string& message) {
  TemporaryDirectory tmp;
  auto runner = StartRunner(args, tmp.path());
  auto exit = runner->Wait();
  ASSERT_TRUE(exit) << "still running";
  EXPECT_TRUE(exit->exited && exit->code == 2) << exit->Describe();
  ASSERT_TRUE(runner->WaitForStderrEof());
  EXPECT_NE(runner->Stderr().find(message), std::string::npos) << runner->Stderr();
  EXPECT_EQ(runner->ReadStdoutToEof(kExitTimeout), "");
}

TEST(EmulatorsCliRefuses, ABadSeed) {
  TemporaryDirectory tmp;
  std::string seed = tmp.path() + "/seed.json";
  std::ofstream(seed) << R"({"users": [], "workspace": []})";
  ExpectRefused({"--seed", seed}, "unknown key \"workspace\"");
  std::ofstream(seed) << "{not json";
  ExpectRefused({"--seed", seed}, "is not valid JSON");
  ExpectRefused({"--seed", tmp.path() + "/absent.json"}, "cannot read the seed");
}

TEST(EmulatorsCliRefuses, BadFlags) {
  ExpectRefused({}, "--seed FILE is required");
  ExpectRefused({"--seed", DefaultSeed(), "--port", "80"}, "unknown argument --port");
  ExpectRefused({"--seed"}, "--seed needs a value");
  ExpectRefused({"--seed", DefaultSeed(), "--tls-dir", "/tmp"}, "--tls-dir needs --tls");
}

TEST(EmulatorsCliHelp, PrintsUsageAndExitsZero) {
  TemporaryDirectory tmp;
  auto runner = StartRunner({"--help"}, tmp.path());
  auto exit = runner->Wait();
  ASSERT_TRUE(exit);
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->Describe();
  EXPECT_NE(runner->ReadStdoutToEof(kExitTimeout).find("usage: arnica-emulators --seed FILE"),
            std::string::npos);
}

}  // namespace
}  // namespace arnica::e2e
