#include "tests/e2e/tofu_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace arnica::e2e {
namespace fs = std::filesystem;

CommandResult RunCommand(const std::vector<std::string>& argv, const fs::path& directory,
                         const std::map<std::string, std::string>& environment,
                         int timeout_seconds) {
  std::map<std::string, std::string> merged;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text(*entry);
    size_t equals = text.find('=');
    if (equals != std::string::npos) merged[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& [key, value] : environment) merged[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);
  std::vector<char*> env_pointers;
  for (std::string& text : env_strings) env_pointers.push_back(text.data());
  env_pointers.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> arg_pointers;
  for (std::string& text : args) arg_pointers.push_back(text.data());
  arg_pointers.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addchdir_np(&actions, directory.c_str());
  pid_t pid = 0;
  int spawned = ::posix_spawn(&pid, arg_pointers[0], &actions, nullptr, arg_pointers.data(),
                              env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CommandResult result;
  if (spawned != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    result.stderr_text = "cannot start " + argv[0] + ": " + std::strerror(spawned);
    return result;
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.stdout_text, &result.stderr_text};
  int open_streams = 2;
  bool timed_out = false;
  while (open_streams > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[65536];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_streams;
      }
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  for (pollfd& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = timed_out ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  if (timed_out) result.stderr_text += "\n[harness] killed after timeout\n";
  return result;
}

// The host colours its output even when not on a terminal; tests read plain text.
std::string StripColor(const std::string& text) {
  static const std::regex kEscape("\x1b\\[[0-9;]*m");
  return std::regex_replace(text, kEscape, "");
}

nlohmann::json ParseHostJson(const std::string& text) {
  static const std::regex kHuge("(-?)([0-9]{40,})");
  std::string safe;
  auto begin = std::sregex_iterator(text.begin(), text.end(), kHuge);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    safe += text.substr(last, static_cast<size_t>(it->position()) - last);
    safe += "\"<big:" + std::to_string((*it)[2].length()) + " digits>\"";
    last = static_cast<size_t>(it->position() + it->length());
  }
  safe += text.substr(last);
  return nlohmann::json::parse(safe);
}

std::string OneLine(std::string_view text) {
  constexpr std::string_view kFrame = "\u2502";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool frame = text.substr(i).starts_with(kFrame);
    if (frame) i += kFrame.size() - 1;
    if (!frame && !std::isspace(static_cast<unsigned char>(text[i]))) {
      out += text[i];
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  return out;
}

bool Mentions(const CommandResult& result, std::string_view text) {
  return OneLine(result.Output()).find(text) != std::string::npos;
}

fs::path TofuBinary() {
  const char* path = std::getenv("ARNICA_TOFU");
  return path == nullptr ? fs::path() : fs::path(path);
}

Workspace::Workspace(const fs::path& provider_dir, Install install) {
  std::string pattern = (fs::temp_directory_path() / "arnica-e2e-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  store_ = dir_ / "store";
  fs::create_directories(store_);
  fs::create_directories(dir_ / "home");
  if (install == Install::kDevOverrides) {
    WriteFile("cli.tfrc", "provider_installation {\n  dev_overrides {\n    \"arnica/arnica\" = \"" +
                              provider_dir.string() + "\"\n  }\n  direct {}\n}\n");
  } else {
    // The unpacked mirror layout users get from `tofu providers mirror`:
    // HOSTNAME/NAMESPACE/TYPE/VERSION/TARGET/terraform-provider-TYPE_vVERSION
    fs::path package = dir_ / "mirror/registry.opentofu.org/arnica/arnica/0.1.0/linux_amd64";
    fs::create_directories(package);
    fs::copy_file(provider_dir / "terraform-provider-arnica",
                  package / "terraform-provider-arnica_v0.1.0");
    fs::permissions(package / "terraform-provider-arnica_v0.1.0", fs::perms::owner_all);
    WriteFile("cli.tfrc", "provider_installation {\n  filesystem_mirror {\n    path = \"" +
                              (dir_ / "mirror").string() +
                              "\"\n    include = [\"registry.opentofu.org/arnica/*\"]\n  }\n"
                              "}\n");
  }
}

Workspace::~Workspace() {
  if (std::getenv("ARNICA_KEEP_E2E") == nullptr) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

void Workspace::WriteConfig(const std::string& body, const std::string& version_constraint) {
  std::string version =
      version_constraint.empty() ? "" : ", version = \"" + version_constraint + "\"";
  WriteFile("main.tf",
            "terraform {\n  required_providers {\n    arnica = { source = \"arnica/arnica\"" +
                version + " }\n  }\n}\n\n" + body);
}

void Workspace::WriteFile(const std::string& name, const std::string& text) {
  std::ofstream out(dir_ / name, std::ios::trunc);
  out << text;
}

std::string Workspace::ReadFile(const std::string& name) const {
  std::ifstream in(dir_ / name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Workspace::EverythingWritten() const {
  std::string all;
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    const fs::path& path = entry.path();
    // The configuration is the user's own input; the provider binaries and the fixture's
    // stand-in remote are not host output.
    if (path.extension() == ".tf" || path.filename() == "cli.tfrc") continue;
    if (path.string().find("/mirror/") != std::string::npos) continue;
    if (path.string().find("/store/") != std::string::npos) continue;
    if (path.string().find("/.terraform/providers/") != std::string::npos) continue;
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    all += text.str();
  }
  return all;
}

CommandResult Workspace::Tofu(std::vector<std::string> args,
                              std::map<std::string, std::string> environment) {
  std::vector<std::string> argv = {TofuBinary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(std::move(argv), std::move(environment), "tofu");
}

CommandResult Workspace::Run(std::vector<std::string> argv,
                             std::map<std::string, std::string> environment,
                             const std::string& shown_as) {
  environment.emplace("TF_CLI_CONFIG_FILE", (dir_ / "cli.tfrc").string());
  environment.emplace("ARNICA_FIXTURE_STORE", store_.string());
  environment.emplace("HOME", (dir_ / "home").string());
  environment.emplace("TF_IN_AUTOMATION", "1");
  environment.emplace("CHECKPOINT_DISABLE", "1");
  environment.emplace("TF_LOG", "TRACE");
  environment.emplace("TF_LOG_PATH", (dir_ / "tofu.log").string());
  environment.emplace("TOFU", TofuBinary().string());
  CommandResult result = RunCommand(argv, dir_, environment);
  result.stdout_text = StripColor(result.stdout_text);
  result.stderr_text = StripColor(result.stderr_text);
  history_ += "$ " + (shown_as.empty() ? argv[0] : shown_as);
  for (std::size_t i = 1; i < argv.size(); ++i) history_ += " " + argv[i];
  history_ += "\n" + result.Output() + "\n";
  return result;
}

}  // namespace arnica::e2e
