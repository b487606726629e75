// arnica-emulators: runs the Bitbucket Cloud, Atlassian Admin API and Arnica emulators on free
// ports of 127.0.0.1 until SIGTERM or SIGINT. docs/emulators.md describes the flags, the seed and
// the ready line.
//
// Exit codes: 0 after a signal and a clean stop; 2 for bad flags or a bad seed; 1 when the
// servers cannot start or the ready file cannot be written.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "tests/emulators/emulator.h"

namespace arnica::emulators {
namespace {

using nlohmann::json;

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kUsageError = 2;

constexpr char kUsage[] =
    "usage: arnica-emulators --seed FILE [--tls] [--tls-dir DIR] [--ready-file FILE]\n"
    "\n"
    "Runs the Bitbucket Cloud, Atlassian Admin API and Arnica emulators on free ports of\n"
    "127.0.0.1, seeded from FILE (JSON; see docs/emulators.md), until SIGTERM or SIGINT.\n"
    "When they are ready, prints one JSON line to stdout:\n"
    "  {\"bitbucket\":URL,\"atlassian_admin\":URL,\"arnica\":URL,\"ca_file\":PATH,\"pid\":N}\n"
    "\n"
    "  --seed FILE        the world to start from (required)\n"
    "  --tls              serve HTTPS with a throwaway CA; ca_file is its certificate\n"
    "  --tls-dir DIR      write the CA and key into DIR (default: a fresh temporary directory)\n"
    "  --ready-file FILE  also write the line to FILE (atomically), and remove FILE on exit\n"
    "  --help             print this text\n"
    "\n"
    "Exit codes: 0 stopped by a signal; 1 could not start; 2 bad flags or a bad seed.\n";

struct Flags {
  std::string seed;
  bool tls = false;
  std::string tls_dir;
  std::string ready_file;
  bool help = false;
};

// The field a flag that takes a value fills; null for any other argument.
std::string* ValueOf(Flags& flags, const std::string& name) {
  if (name == "--seed") return &flags.seed;
  if (name == "--tls-dir") return &flags.tls_dir;
  if (name == "--ready-file") return &flags.ready_file;
  return nullptr;
}

// What is wrong with a complete set of flags, or "".
std::string CheckFlags(const Flags& flags) {
  if (flags.help) return "";
  if (flags.seed.empty()) return "--seed FILE is required";
  if (flags.tls_dir.empty()) return "";
  if (!flags.tls) return "--tls-dir needs --tls";
  struct stat info {};
  if (stat(flags.tls_dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return "--tls-dir " + flags.tls_dir + " is not a directory";
  }
  return "";
}

// Accepts "--flag VALUE" and "--flag=VALUE"; returns what is wrong, or "".
std::string ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> value;
    if (auto eq = arg.find('='); absl::StartsWith(arg, "--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    if ((arg == "--help" || arg == "-h") && !value) {
      flags.help = true;
    } else if (arg == "--tls" && !value) {
      flags.tls = true;
    } else if (std::string* field = ValueOf(flags, arg)) {
      if (!value && i + 1 == argc) return arg + " needs a value";
      if (!value) value = argv[++i];
      if (value->empty()) return arg + " needs a non-empty value";
      *field = *value;
    } else {
      return "unknown argument " + std::string(argv[i]);
    }
  }
  return CheckFlags(flags);
}

// The seed file parsed and checked the way Emulators::Start will load it; an empty error means
// success.
std::string ReadSeed(const std::string& path, json& seed) {
  std::ifstream file(path);
  if (!file) return "cannot read the seed " + path + ": " + std::strerror(errno);
  std::stringstream text;
  text << file.rdbuf();
  seed = json::parse(text.str(), nullptr, false);
  if (seed.is_discarded()) return "the seed " + path + " is not valid JSON";
  if (auto world = WorldFromJson(seed); !world.ok()) {
    return "bad seed " + path + ": " + std::string(world.status().message());
  }
  return "";
}

// Writes a temporary file beside `path`, then renames it, so that a reader never sees half.
bool WriteAtomically(const std::string& path, const std::string& content) {
  std::string temporary = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream file(temporary, std::ios::trunc);
    file << content;
    if (!file.flush()) return false;
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return false;
  }
  return true;
}

std::string ReadyLine(const Emulators& emulators) {
  json line = json::object();
  for (Service service : kAllServices) line[ServiceName(service)] = emulators.url(service);
  line["ca_file"] = emulators.ca_file();
  line["pid"] = getpid();
  return line.dump();
}

int Fail(int code, const std::string& message) {
  std::cerr << "arnica-emulators: " << message << "\n";
  return code;
}

// Blocks SIGTERM and SIGINT in every thread (the servers' threads inherit the mask), so that
// only the sigwait in Run receives them.
sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not end the run
  return stop;
}

int Run(const Flags& flags) {
  json seed;
  if (std::string error = ReadSeed(flags.seed, seed); !error.empty()) {
    return Fail(kUsageError, error);
  }
  sigset_t stop = BlockStopSignals();
  auto emulators = Emulators::Start({.seed = seed, .tls = flags.tls, .tls_dir = flags.tls_dir});
  if (!emulators.ok()) return Fail(kFailure, std::string(emulators.status().message()));
  std::string line = ReadyLine(**emulators);
  if (!flags.ready_file.empty() && !WriteAtomically(flags.ready_file, line + "\n")) {
    return Fail(kFailure, "cannot write the ready file " + flags.ready_file);
  }
  std::cout << line << std::endl;
  int received = 0;
  sigwait(&stop, &received);
  emulators->reset();
  if (!flags.ready_file.empty()) std::remove(flags.ready_file.c_str());
  return kOk;
}

}  // namespace
}  // namespace arnica::emulators

int main(int argc, char** argv) {
  using namespace arnica::emulators;
  Flags flags;
  if (std::string error = ParseFlags(argc, argv, flags); !error.empty()) {
    return Fail(kUsageError, error + " (try --help)");
  }
  if (flags.help) {
    std::cout << kUsage;
    return kOk;
  }
  return Run(flags);
}
