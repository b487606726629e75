#include "provider/plugin/serve.h"

#include <fcntl.h>
#include <grp.h>
#include <grpc/support/log.h>
#include <grpcpp/health_check_service_interface.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpc_controller.grpc.pb.h"
#include "grpc_stdio.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "provider/plugin/certificate.h"
#include "provider/plugin/handshake.h"
#include "provider/plugin/log.h"

namespace arnica::plugin {
namespace {

// terraform-plugin-go's limit; gRPC's default of 4 MiB is too small for large plans.
constexpr int kMaxMessageBytes = 256 << 20;
// How long in-flight calls (the Shutdown call's own reply among them) get before the server
// cancels them. The host waits two seconds for the process to go, then kills it.
constexpr auto kShutdownGrace = std::chrono::milliseconds(50);
constexpr size_t kMaxUnixPathLength = sizeof(sockaddr_un::sun_path) - 1;

// Set once the host asks us to go; the main thread waits on it.
class ShutdownLatch {
 public:
  void Trigger() {
    std::lock_guard<std::mutex> lock(mutex_);
    triggered_ = true;
    condition_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    condition_.wait(lock, [this] { return triggered_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable condition_;
  bool triggered_ = false;
};

class ControllerService final : public ::plugin::GRPCController::Service {
 public:
  explicit ControllerService(ShutdownLatch* latch) : latch_(latch) {}
  grpc::Status Shutdown(grpc::ServerContext*, const ::plugin::Empty*, ::plugin::Empty*) override {
    Log::Debug("host requested shutdown");
    latch_->Trigger();
    return grpc::Status::OK;
  }

 private:
  ShutdownLatch* latch_;
};

// We never write to our own stdout or stderr through this channel: logs go to stderr directly,
// so the stream ends at once with nothing on it.
class StdioService final : public ::plugin::GRPCStdio::Service {
 public:
  grpc::Status StreamStdio(grpc::ServerContext*, const google::protobuf::Empty*,
                           grpc::ServerWriter<::plugin::StdioData>*) override {
    return grpc::Status::OK;
  }
};

// gRPC's own messages (a refused TLS client, for one) would otherwise reach stderr as plain
// text; the host reads JSON lines. A Go host forced to TLS 1.2 fails on the curve of its P-521
// client certificate, which Debian's gRPC 1.51 cannot use with TLS 1.2; say so.
void LogFromGrpc(gpr_log_func_args* args) {
  std::string message = args->message != nullptr ? args->message : "";
  LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR  ? LogLevel::kError
                   : args->severity == GPR_LOG_SEVERITY_INFO ? LogLevel::kDebug
                                                             : LogLevel::kTrace;
  nlohmann::json fields = {{"source", absl::StrCat(args->file, ":", args->line)}};
  if (message.find("WRONG_CURVE") != std::string::npos ||
      message.find("wrong curve") != std::string::npos) {
    fields["hint"] =
        "the host connected with TLS 1.2 and a P-521 client certificate; this build's gRPC "
        "accepts P-521 only over TLS 1.3, so do not restrict the host to TLS 1.2 (for example "
        "with GODEBUG=tls13=0)";
  }
  if (Log::Enabled(level)) Log::Write(level, "grpc: " + message, fields);
}

struct Listener {
  std::string network;  // "unix" or "tcp"
  std::string address;  // for the handshake
  std::string grpc_uri;
  std::string socket_path;  // removed on exit
};

std::string SocketDirectory() {
  for (const char* name : {"PLUGIN_UNIX_SOCKET_DIR", "TMPDIR"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "/tmp";
}

std::optional<Listener> UnixListener() {
  std::random_device random;
  std::string path = absl::StrCat(SocketDirectory(), "/plugin", random(), random() % 100000);
  if (path.size() > kMaxUnixPathLength || ::access(path.c_str(), F_OK) == 0) return std::nullopt;
  return Listener{"unix", path, "unix:" + path, path};
}

// The first port in the range that we can bind on the loopback address.
std::optional<Listener> TcpListener(const PortRange& range) {
  for (int port = range.min; port <= range.max; ++port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    if (free) {
      std::string hostport = absl::StrCat("127.0.0.1:", port);
      return Listener{"tcp", hostport, hostport, ""};
    }
  }
  return std::nullopt;
}

void ApplySocketGroup(const std::string& path) {
  const char* group_name = std::getenv("PLUGIN_UNIX_SOCKET_GROUP");
  if (group_name == nullptr || *group_name == '\0' || path.empty()) return;
  gid_t gid = 0;
  if (const group* entry = ::getgrnam(group_name)) {
    gid = entry->gr_gid;
  } else if (!absl::SimpleAtoi(group_name, &gid)) {
    Log::Warn("PLUGIN_UNIX_SOCKET_GROUP names no group", {{"group", group_name}});
    return;
  }
  if (::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0 || ::chmod(path.c_str(), 0660) != 0) {
    Log::Warn("could not hand the plugin socket to its group", {{"group", group_name}});
  }
}

std::shared_ptr<grpc::ServerCredentials> Credentials(const std::string& client_pem,
                                                     const ServerCertificate& certificate) {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = client_pem;
  options.pem_key_cert_pairs.push_back({certificate.private_key_pem, certificate.certificate_pem});
  return grpc::SslServerCredentials(options);
}

std::unique_ptr<grpc::Server> Start(const Listener& listener,
                                    std::shared_ptr<grpc::ServerCredentials> credentials,
                                    const std::vector<grpc::Service*>& services) {
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.AddListeningPort(listener.grpc_uri, std::move(credentials));
  for (grpc::Service* service : services) builder.RegisterService(service);
  return builder.BuildAndStart();
}

// Writes the handshake line to the real stdout and points fd 1 at stderr from then on, so
// nothing any library prints can reach the host's handshake reader.
bool EmitOnStdout(const std::string& line) {
  int real_stdout = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (real_stdout < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) return false;
  size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(real_stdout, line.data() + written, line.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  ::close(real_stdout);
  return written == line.size();
}

// SIGINT reaches the whole process group when a user presses Ctrl-C; the host answers it with
// StopProvider, so the plugin itself must survive it. Debug servers stop on it instead. SIGTERM
// always stops the server in order (its socket removed), rather than killing the process.
void WatchSignals(bool debug, ShutdownLatch* latch) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, debug, latch] {
    for (;;) {
      int signal_number = 0;
      if (sigwait(&set, &signal_number) != 0) continue;
      if (debug || signal_number == SIGTERM) {
        Log::Debug("stopping on a signal", {{"signal", signal_number}});
        latch->Trigger();
        return;
      }
      Log::Debug("ignoring interrupt: the host stops providers through StopProvider");
    }
  }).detach();
}

// A host that is killed (SIGKILL, a crash) never sends Shutdown, and the provider would live on
// as an orphan holding its socket. The host is our parent; when we are re-parented, it is gone.
void WatchParent(ShutdownLatch* latch) {
  pid_t parent = ::getppid();
  std::thread([parent, latch] {
    while (::getppid() == parent) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    Log::Warn("the host process went away without shutting the provider down; exiting");
    latch->Trigger();
  }).detach();
}

std::string ReattachJson(const ServeOptions& options, const Listener& listener) {
  nlohmann::json entry = {{"Protocol", "grpc"},
                          {"ProtocolVersion", kProtocolVersion},
                          {"Pid", ::getpid()},
                          {"Test", true},
                          {"Addr", {{"Network", listener.network}, {"String", listener.address}}}};
  return nlohmann::json{{options.provider_address, entry}}.dump();
}

std::optional<Listener> ChooseListener(const HandshakeEnvironment& environment) {
  if (auto unix_listener = UnixListener()) return unix_listener;
  absl::StatusOr<PortRange> range = ParsePortRange(environment);
  if (!range.ok()) {
    Log::Error(std::string(range.status().message()));
    return std::nullopt;
  }
  return TcpListener(*range);
}

}  // namespace

int Serve(grpc::Service* provider, const ServeOptions& options) {
  ::signal(SIGPIPE, SIG_IGN);
  gpr_set_log_function(LogFromGrpc);
  HandshakeEnvironment environment = HandshakeEnvironment::FromProcess();
  if (!options.debug && !MagicCookieMatches(environment)) {
    std::fputs(NotAPluginMessage().c_str(), stderr);
    return 1;
  }
  absl::StatusOr<int> version = NegotiateProtocolVersion(environment);
  if (!options.debug && !version.ok()) {
    Log::Error(std::string(version.status().message()));
    return 1;
  }

  ShutdownLatch latch;
  WatchSignals(options.debug, &latch);
  // A debug server belongs to the user's shell, not to a host; it stops on a signal instead.
  if (!options.debug) WatchParent(&latch);
  ControllerService controller(&latch);
  StdioService stdio;
  grpc::EnableDefaultHealthCheckService(true);

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  std::string certificate_der;
  bool tls = !options.debug && environment.client_certificate_pem.has_value() &&
             !environment.client_certificate_pem->empty();
  if (tls) {
    absl::StatusOr<ServerCertificate> certificate = GenerateServerCertificate();
    if (!certificate.ok()) {
      Log::Error("cannot start TLS", {{"error", std::string(certificate.status().message())}});
      return 1;
    }
    credentials = Credentials(*environment.client_certificate_pem, *certificate);
    certificate_der = certificate->certificate_der;
  }

  std::unique_ptr<grpc::Server> server;
  Listener listener;
  for (int attempt = 0; attempt < 2 && !server; ++attempt) {
    std::optional<Listener> candidate =
        attempt == 0 ? ChooseListener(environment)
                     : TcpListener(ParsePortRange(environment).value_or(PortRange{}));
    if (!candidate) continue;
    listener = *candidate;
    server = Start(listener, credentials, {provider, &controller, &stdio});
  }
  if (!server) {
    Log::Error("could not listen on a unix socket or a loopback TCP port");
    return 1;
  }
  ApplySocketGroup(listener.socket_path);
  server->GetHealthCheckService()->SetServingStatus("plugin", true);

  if (options.debug) {
    std::fprintf(stderr,
                 "Provider started in debug mode. To attach OpenTofu or Terraform, export the "
                 "variable printed on stdout in the shell that runs it:\n");
    EmitOnStdout("TF_REATTACH_PROVIDERS='" + ReattachJson(options, listener) + "'\n");
  } else if (!EmitOnStdout(HandshakeLine(kProtocolVersion, listener.network, listener.address,
                                         certificate_der))) {
    Log::Error("could not write the handshake line");
    return 1;
  }
  Log::Debug("serving", {{"network", listener.network}, {"tls", tls}});

  latch.Wait();
  if (options.on_shutdown) options.on_shutdown();
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  if (!listener.socket_path.empty()) ::unlink(listener.socket_path.c_str());
  return 0;
}

}  // namespace arnica::plugin
