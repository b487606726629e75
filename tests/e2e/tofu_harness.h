// Driving a real OpenTofu binary from tests: a throw-away working directory with its own CLI
// configuration, state and fixture store, and a way to run `tofu` commands in it.
//
// The binary comes from ARNICA_TOFU (scripts/test.sh builds it once and exports the path). Tests
// never mock the host: when ARNICA_TOFU is missing they fail and say how to provide it.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"

// Exit-code checks for a CommandResult that print the command's whole output when they fail.
#define ASSERT_EXIT_CODE(result, code) ASSERT_EQ((result).exit_code, code) << (result).Output()
#define EXPECT_EXIT_CODE(result, code) EXPECT_EQ((result).exit_code, code) << (result).Output()

namespace arnica::e2e {

struct CommandResult {
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
  std::string Output() const { return stdout_text + stderr_text; }
};

// Runs `argv` in `directory` with `environment` added to (and overriding) this process's
// environment. Waits at most `timeout_seconds`, then kills it and reports exit code -1.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::filesystem::path& directory,
                         const std::map<std::string, std::string>& environment,
                         int timeout_seconds = 300);

// Parses JSON the host printed or stored. Integers too large for a double (1e400 is stored as
// a 401-digit integer) are replaced by the string "<big:N digits>" first, since a JSON library
// cannot hold them.
nlohmann::json ParseHostJson(const std::string& text);

// The host's output read as one line: the frame ("│") of its diagnostics dropped and every run of
// whitespace, line breaks and the padding that aligns plan attributes included, one space. The
// host wraps diagnostics at its width, so a sentence is found only this way.
std::string OneLine(std::string_view text);

// Whether the command's output, read as one line, holds `text`.
bool Mentions(const CommandResult& result, std::string_view text);

// The OpenTofu binary under test, or an empty path.
std::filesystem::path TofuBinary();

enum class Install { kDevOverrides, kFilesystemMirror };

class Workspace {
 public:
  // `provider_dir` holds the terraform-provider-arnica binary to test.
  explicit Workspace(const std::filesystem::path& provider_dir,
                     Install install = Install::kDevOverrides);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& store() const { return store_; }

  // Writes main.tf. `body` follows the required_providers block.
  void WriteConfig(const std::string& body, const std::string& version_constraint = "");
  void WriteFile(const std::string& name, const std::string& text);
  std::string ReadFile(const std::string& name) const;
  // Every file the host and provider wrote here that a secret must never reach: the state file
  // (and backups), plan files and the host's log. (Saved plan files are zip archives holding a
  // copy of the configuration, compressed; tests check `tofu show` of them instead.)
  std::string EverythingWritten() const;

  // `tofu <args>` with -no-color, trace logging into tofu.log (appended to the log history).
  CommandResult Tofu(std::vector<std::string> args,
                     std::map<std::string, std::string> environment = {});

  // Any command, run here with the environment `tofu` commands get (and TOFU naming the
  // binary), recorded in the history as `shown_as` (default: argv[0]) and its arguments.
  CommandResult Run(std::vector<std::string> argv,
                    std::map<std::string, std::string> environment = {},
                    const std::string& shown_as = "");

  // Concatenation of all output and logs of every command run so far.
  const std::string& history() const { return history_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path store_;
  std::string history_;
};

}  // namespace arnica::e2e
