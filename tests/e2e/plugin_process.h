// Test support: runs the provider binary the way go-plugin's host does and talks to it.
//
// PluginProcess spawns the binary with an explicit environment (nothing of the test runner's
// environment leaks in), stdin on /dev/null, stdout and stderr on pipes. stdout is read on demand
// with a deadline, so a plugin that never prints its handshake fails the caller instead of hanging
// it; stderr is drained by a background thread. On destruction the process is asked to exit
// through plugin.GRPCController/Shutdown when a channel to it is known, and is otherwise (or if it
// lingers) killed with SIGKILL, addressed to its own pid only, and reaped.
//
// Header-only so that the end-to-end tests and the benchmarks can both include it as
// "tests/e2e/plugin_process.h" without a library of their own. Nothing here depends on GoogleTest.
#pragma once

#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "grpc_controller.grpc.pb.h"
#include "provider/plugin/certificate.h"

namespace arnica::e2e {

using Millis = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

inline constexpr char kMagicCookieKey[] = "TF_PLUGIN_MAGIC_COOKIE";
inline constexpr char kMagicCookieValue[] =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
// How long anything a test waits for may take before the test fails instead.
inline constexpr Millis kHandshakeTimeout{30000};
inline constexpr Millis kRpcTimeout{10000};
inline constexpr Millis kExitTimeout{10000};

// How a child ended.
struct ExitStatus {
  bool exited = false;  // normal exit: `code` is valid
  int code = -1;
  int signal = 0;  // killed by this signal when !exited
  std::string Describe() const {
    return exited ? "exit code " + std::to_string(code)
                  : "killed by signal " + std::to_string(signal);
  }
};

class PluginProcess {
 public:
  struct Options {
    std::string binary;
    std::vector<std::string> args;           // argv[1..]
    std::map<std::string, std::string> env;  // the child's whole environment
  };

  explicit PluginProcess(Options options) : options_(std::move(options)) { Spawn(); }
  PluginProcess(const PluginProcess&) = delete;
  PluginProcess& operator=(const PluginProcess&) = delete;

  ~PluginProcess() {
    if (running()) {
      if (shutdown_channel_) {
        ::plugin::GRPCController::Stub controller(shutdown_channel_);
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + Millis(2000));
        ::plugin::Empty request, response;
        controller.Shutdown(&context, request, &response);  // failure: the kill below ends it
        Wait(Millis(3000));
      }
      Kill();
    }
    stop_reader_.store(true);
    if (stderr_thread_.joinable()) stderr_thread_.join();
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    if (stderr_fd_ >= 0) ::close(stderr_fd_);
  }

  bool started() const { return pid_ > 0; }
  const std::string& spawn_error() const { return spawn_error_; }
  pid_t pid() const { return pid_; }
  // When the process was spawned (just before posix_spawn).
  Clock::time_point spawn_time() const { return spawn_time_; }

  // The next line on stdout without its newline, or nullopt after `timeout` or at EOF.
  std::optional<std::string> ReadStdoutLine(Millis timeout = kHandshakeTimeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      size_t newline = stdout_pending_.find('\n');
      if (newline != std::string::npos) {
        std::string line = stdout_pending_.substr(0, newline);
        stdout_pending_.erase(0, newline + 1);
        return line;
      }
      if (stdout_eof_ || !FillStdout(deadline)) return std::nullopt;
    }
  }

  // Everything still to come on stdout until EOF (or `timeout`); `eof` tells which.
  std::string ReadStdoutToEof(Millis timeout, bool* eof = nullptr) {
    auto deadline = Clock::now() + timeout;
    while (!stdout_eof_ && FillStdout(deadline)) {
    }
    if (eof != nullptr) *eof = stdout_eof_;
    std::string rest = std::move(stdout_pending_);
    stdout_pending_.clear();
    return rest;
  }

  // All bytes read from stdout so far, whether consumed as lines or not.
  const std::string& stdout_seen() const { return stdout_seen_; }

  std::string Stderr() const {
    std::lock_guard<std::mutex> lock(stderr_mutex_);
    return stderr_;
  }

  // Waits until stderr reaches EOF (every holder of its write end is gone).
  bool WaitForStderrEof(Millis timeout = kExitTimeout) {
    std::unique_lock<std::mutex> lock(stderr_mutex_);
    return stderr_changed_.wait_for(lock, timeout, [this] { return stderr_eof_; });
  }

  bool WaitForStderr(std::string_view needle, Millis timeout = kRpcTimeout) {
    std::unique_lock<std::mutex> lock(stderr_mutex_);
    return stderr_changed_.wait_for(lock, timeout, [&] {
      return stderr_.find(needle) != std::string::npos || stderr_eof_;
    }) && stderr_.find(needle) != std::string::npos;
  }

  // True while the child has not been reaped (checks without blocking).
  bool running() {
    if (pid_ <= 0 || exit_status_) return false;
    Reap(WNOHANG);
    return !exit_status_;
  }

  // Waits up to `timeout` for the child to end; nullopt if it is still running.
  std::optional<ExitStatus> Wait(Millis timeout = kExitTimeout) {
    if (pid_ <= 0) return std::nullopt;
    auto deadline = Clock::now() + timeout;
    while (!exit_status_) {
      Reap(WNOHANG);
      if (exit_status_ || Clock::now() >= deadline) break;
      std::this_thread::sleep_for(Millis(5));
    }
    return exit_status_;
  }

  // Sends `signal_number` to the child's own pid while it is unreaped (so the pid is still ours).
  bool Signal(int signal_number) {
    if (!running()) return false;
    return ::kill(pid_, signal_number) == 0;
  }

  // SIGKILL to the child's pid, then reap it.
  void Kill() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    Reap(0);
  }

  // Used by the destructor to ask for an orderly exit.
  void set_shutdown_channel(std::shared_ptr<grpc::Channel> channel) {
    shutdown_channel_ = std::move(channel);
  }

 private:
  void Spawn() {
    int out_pipe[2] = {-1, -1};
    int err_pipe[2] = {-1, -1};
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
      spawn_error_ = std::string("pipe2: ") + std::strerror(errno);
      for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
        if (fd >= 0) ::close(fd);
      }
      return;
    }

    std::vector<std::string> argv_storage{options_.binary};
    argv_storage.insert(argv_storage.end(), options_.args.begin(), options_.args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (const auto& [key, value] : options_.env) env_storage.push_back(key + "=" + value);
    std::vector<char*> envp;
    for (std::string& entry : env_storage) envp.push_back(entry.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    // Nothing of the test process (gRPC sockets, gtest files) may reach the child: the fd-leak
    // test must see only what the provider itself opened.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);

    // The child starts with no blocked signals and default dispositions, whatever the runner had
    // (a shell running us in the background ignores SIGINT, which would hide the SIGINT test).
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2}) {
      sigaddset(&defaults, s);
    }
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    spawn_time_ = Clock::now();
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, options_.binary.c_str(), &actions, &attributes, argv.data(),
                           envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
      spawn_error_ = "posix_spawn " + options_.binary + ": " + std::strerror(rc);
      ::close(out_pipe[0]);
      ::close(err_pipe[0]);
      return;
    }
    pid_ = pid;
    stdout_fd_ = out_pipe[0];
    stderr_fd_ = err_pipe[0];
    stderr_thread_ = std::thread([this] { DrainStderr(); });
  }

  // Reads what stdout has before `deadline`; false on timeout, EOF or error.
  bool FillStdout(Clock::time_point deadline) {
    if (stdout_fd_ < 0) return false;
    for (;;) {
      auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd entry{stdout_fd_, POLLIN, 0};
      int ready = ::poll(&entry, 1, static_cast<int>(std::min<long long>(left, 1000)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return false;
      if (ready == 0) continue;
      char buffer[4096];
      ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        stdout_eof_ = true;
        return false;
      }
      stdout_pending_.append(buffer, static_cast<size_t>(n));
      stdout_seen_.append(buffer, static_cast<size_t>(n));
      return true;
    }
  }

  void DrainStderr() {
    for (;;) {
      pollfd entry{stderr_fd_, POLLIN, 0};
      int ready = ::poll(&entry, 1, 100);
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) {
        if (stop_reader_.load()) break;
        continue;
      }
      char buffer[4096];
      ssize_t n = ::read(stderr_fd_, buffer, sizeof buffer);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;
      std::lock_guard<std::mutex> lock(stderr_mutex_);
      stderr_.append(buffer, static_cast<size_t>(n));
      stderr_changed_.notify_all();
    }
    std::lock_guard<std::mutex> lock(stderr_mutex_);
    stderr_eof_ = true;
    stderr_changed_.notify_all();
  }

  void Reap(int flags) {
    if (pid_ <= 0 || exit_status_) return;
    int status = 0;
    pid_t result;
    do {
      result = ::waitpid(pid_, &status, flags);
    } while (result < 0 && errno == EINTR);
    if (result != pid_) return;
    ExitStatus exit;
    if (WIFEXITED(status)) {
      exit.exited = true;
      exit.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      exit.signal = WTERMSIG(status);
    }
    exit_status_ = exit;
  }

  Options options_;
  pid_t pid_ = -1;
  std::string spawn_error_;
  Clock::time_point spawn_time_;
  std::optional<ExitStatus> exit_status_;

  int stdout_fd_ = -1;
  std::string stdout_pending_;
  std::string stdout_seen_;
  bool stdout_eof_ = false;

  int stderr_fd_ = -1;
  std::thread stderr_thread_;
  std::atomic<bool> stop_reader_{false};
  mutable std::mutex stderr_mutex_;
  std::condition_variable stderr_changed_;
  std::string stderr_;
  bool stderr_eof_ = false;

  std::shared_ptr<grpc::Channel> shutdown_channel_;
};

// --- The handshake line ----------------------------------------------------------------------

struct Handshake {
  std::vector<std::string> fields;  // the line split on '|'
  int core_version = 0;
  int protocol_version = 0;
  std::string network;
  std::string address;
  std::string protocol;
  std::string certificate;  // base64 as printed

  // Splits `line` (no newline); nullopt unless it has exactly six fields with numeric versions.
  static std::optional<Handshake> Parse(const std::string& line) {
    Handshake handshake;
    size_t start = 0;
    for (;;) {
      size_t bar = line.find('|', start);
      handshake.fields.push_back(line.substr(start, bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    if (handshake.fields.size() != 6) return std::nullopt;
    try {
      size_t used = 0;
      handshake.core_version = std::stoi(handshake.fields[0], &used);
      if (used != handshake.fields[0].size()) return std::nullopt;
      handshake.protocol_version = std::stoi(handshake.fields[1], &used);
      if (used != handshake.fields[1].size()) return std::nullopt;
    } catch (const std::exception&) {
      return std::nullopt;
    }
    handshake.network = handshake.fields[2];
    handshake.address = handshake.fields[3];
    handshake.protocol = handshake.fields[4];
    handshake.certificate = handshake.fields[5];
    return handshake;
  }

  std::string GrpcTarget() const { return network == "unix" ? "unix:" + address : address; }
};

// Go's base64.RawStdEncoding.DecodeString: standard alphabet, no padding, strict.
inline std::optional<std::string> DecodeBase64RawStd(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  // Leftover bits must be zero, as Go's strict decoder demands.
  if ((bits & ((1u << count) - 1)) != 0) return std::nullopt;
  return out;
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

inline X509Ptr ParseDer(const std::string& der) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  X509* certificate = d2i_X509(nullptr, &cursor, static_cast<long>(der.size()));
  // The whole buffer must be one certificate.
  if (certificate != nullptr &&
      cursor != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    X509_free(certificate);
    return nullptr;
  }
  return X509Ptr(certificate);
}

inline std::string DerToPem(const std::string& der) {
  X509Ptr certificate = ParseDer(der);
  if (!certificate) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  std::string pem;
  if (bio != nullptr && PEM_write_bio_X509(bio, certificate.get()) == 1) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    pem.assign(data, static_cast<size_t>(size));
  }
  BIO_free(bio);
  return pem;
}

// --- Talking to it ---------------------------------------------------------------------------

// A client key pair, made the way the host makes its own (self-signed, CN/SAN localhost).
inline arnica::plugin::ServerCertificate NewClientIdentity() {
  auto identity = arnica::plugin::GenerateServerCertificate();
  if (!identity.ok()) return {};
  return *identity;
}

// The environment OpenTofu gives a provider it starts: magic cookie, protocol list, AutoMTLS
// client certificate (omitted when `client_certificate_pem` is empty), plus `extra`.
inline std::map<std::string, std::string> HostEnvironment(
    const std::string& client_certificate_pem,
    const std::map<std::string, std::string>& extra = {}) {
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/bin:/usr/bin:/bin"},
      {kMagicCookieKey, kMagicCookieValue},
      {"PLUGIN_PROTOCOL_VERSIONS", "5,6"},
  };
  if (!client_certificate_pem.empty()) env["PLUGIN_CLIENT_CERT"] = client_certificate_pem;
  for (const auto& [key, value] : extra) env[key] = value;
  return env;
}

// A TLS channel to the plugin presenting `client` and trusting only the handshake's certificate.
// Each channel has its own subchannel pool, so channels with different identities never share a
// connection.
inline std::shared_ptr<grpc::Channel> Dial(const Handshake& handshake,
                                           const arnica::plugin::ServerCertificate& client) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  arguments.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (handshake.certificate.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions options;
    auto der = DecodeBase64RawStd(handshake.certificate);
    options.pem_root_certs = der ? DerToPem(*der) : std::string();
    options.pem_private_key = client.private_key_pem;
    options.pem_cert_chain = client.certificate_pem;
    credentials = grpc::SslCredentials(options);
    arguments.SetSslTargetNameOverride("localhost");
  }
  return grpc::CreateCustomChannel(handshake.GrpcTarget(), credentials, arguments);
}

inline void SetDeadline(grpc::ClientContext* context, Millis timeout = kRpcTimeout) {
  context->set_deadline(std::chrono::system_clock::now() + timeout);
}

inline grpc::Status Shutdown(const std::shared_ptr<grpc::Channel>& channel,
                             Millis timeout = kRpcTimeout) {
  ::plugin::GRPCController::Stub controller(channel);
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  ::plugin::Empty request, response;
  return controller.Shutdown(&context, request, &response);
}

// grpc.health.v1.Health/Check for `service`, through a generic stub with hand-made protobuf
// bytes: HealthCheckRequest{string service = 1}, HealthCheckResponse{ServingStatus status = 1}
// where SERVING = 1. `status` receives the decoded serving status (-1 if absent/unparseable).
inline grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& service, int* status,
                                Millis timeout = kRpcTimeout) {
  *status = -1;
  std::string request_bytes;
  request_bytes.push_back(0x0a);  // field 1, length-delimited
  request_bytes.push_back(static_cast<char>(service.size()));
  request_bytes += service;
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;

  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status result = done.get_future().get();
  if (!result.ok()) return result;

  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return result;
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  // An empty message means status = 0 (UNKNOWN); otherwise expect tag 0x08 and a 1-byte varint.
  if (bytes.empty()) {
    *status = 0;
  } else if (bytes.size() == 2 && bytes[0] == 0x08 && (bytes[1] & 0x80) == 0) {
    *status = bytes[1];
  }
  return result;
}

inline constexpr int kHealthServing = 1;

// One provider process started like the host starts it, past its handshake, with a channel.
struct LaunchedPlugin {
  std::unique_ptr<PluginProcess> process;
  arnica::plugin::ServerCertificate client;
  std::string handshake_line;
  std::optional<Handshake> handshake;
  std::shared_ptr<grpc::Channel> channel;
  std::string error;  // empty when all of the above worked

  bool ok() const { return error.empty(); }
};

// Spawns `binary` with the host environment (+ `extra_env`), reads the handshake line within
// kHandshakeTimeout, parses it and dials it. Failures are reported in `error`, never by hanging.
inline LaunchedPlugin Launch(const std::string& binary,
                             const std::map<std::string, std::string>& extra_env = {}) {
  LaunchedPlugin launched;
  launched.client = NewClientIdentity();
  if (launched.client.certificate_pem.empty()) {
    launched.error = "could not make a client certificate";
    return launched;
  }
  PluginProcess::Options options;
  options.binary = binary;
  options.env = HostEnvironment(launched.client.certificate_pem, extra_env);
  launched.process = std::make_unique<PluginProcess>(std::move(options));
  if (!launched.process->started()) {
    launched.error = launched.process->spawn_error();
    return launched;
  }
  std::optional<std::string> line = launched.process->ReadStdoutLine(kHandshakeTimeout);
  if (!line) {
    launched.error = "no handshake line within the timeout; stderr:\n" + launched.process->Stderr();
    return launched;
  }
  launched.handshake_line = *line;
  launched.handshake = Handshake::Parse(*line);
  if (!launched.handshake) {
    launched.error = "unparseable handshake line: " + *line;
    return launched;
  }
  launched.channel = Dial(*launched.handshake, launched.client);
  launched.process->set_shutdown_channel(launched.channel);
  return launched;
}

// VmRSS and VmHWM of `pid` in KiB from /proc/<pid>/status (0 if unreadable).
struct MemoryUsage {
  long rss_kib = 0;
  long hwm_kib = 0;
};
inline MemoryUsage ReadMemoryUsage(pid_t pid) {
  MemoryUsage usage;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto field = [&](std::string_view key, long* out) {
      if (line.rfind(key, 0) == 0) {
        std::istringstream in(line.substr(key.size()));
        in >> *out;
      }
    };
    field("VmRSS:", &usage.rss_kib);
    field("VmHWM:", &usage.hwm_kib);
  }
  return usage;
}

}  // namespace arnica::e2e
