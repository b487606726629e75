// Start-up benchmark (not a test): how long the release binary takes from exec to its handshake
// line, and how much memory it holds right after, when started the way the host starts it.
//
// usage: handshake_bench [runs=30] [binary=<this dir>/../bin/terraform-provider-arnica]
//
// Each run spawns the provider with the host's environment (magic cookie, protocol list, an
// AutoMTLS client certificate), times steady_clock from just before posix_spawn until the
// handshake line has been read, reads VmRSS/VmHWM from /proc/<pid>/status, then shuts it down
// through plugin.GRPCController/Shutdown and reaps it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/e2e/plugin_process.h"

namespace {

namespace fs = std::filesystem;
using namespace arnica::e2e;

std::string DefaultBinary() {
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return "terraform-provider-arnica";
  return (self.parent_path().parent_path() / "bin" / "terraform-provider-arnica").string();
}

// Nearest-rank percentile of sorted `values`.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  if (values.empty()) return 0;
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 30;
  if (argc > 1) runs = std::atoi(argv[1]);
  if (runs <= 0) {
    std::fprintf(stderr, "usage: %s [runs>0] [binary]\n", argv[0]);
    return 2;
  }
  std::string binary = argc > 2 ? argv[2] : DefaultBinary();
  std::error_code error;
  auto size = fs::file_size(binary, error);
  if (error) {
    std::fprintf(stderr, "cannot stat %s: %s\n", binary.c_str(), error.message().c_str());
    return 1;
  }

  // The host makes one client certificate and hands it to every plugin it starts.
  arnica::plugin::ServerCertificate client = NewClientIdentity();
  if (client.certificate_pem.empty()) {
    std::fprintf(stderr, "could not make a client certificate\n");
    return 1;
  }

  std::vector<double> millis;
  std::vector<double> rss_mib;
  std::vector<double> hwm_mib;
  std::vector<double> exit_millis;
  int failures = 0;
  for (int run = 0; run < runs; ++run) {
    PluginProcess::Options options;
    options.binary = binary;
    options.env = HostEnvironment(client.certificate_pem);
    PluginProcess process(std::move(options));
    if (!process.started()) {
      std::fprintf(stderr, "run %d: %s\n", run, process.spawn_error().c_str());
      return 1;
    }
    std::optional<std::string> line = process.ReadStdoutLine(kHandshakeTimeout);
    auto handshake_at = Clock::now();
    MemoryUsage memory = ReadMemoryUsage(process.pid());
    std::optional<Handshake> handshake = line ? Handshake::Parse(*line) : std::nullopt;
    if (!handshake) {
      std::fprintf(stderr, "run %d: no valid handshake line; stderr:\n%s\n", run,
                   process.Stderr().c_str());
      ++failures;
      continue;  // the destructor kills it
    }
    millis.push_back(
        std::chrono::duration<double, std::milli>(handshake_at - process.spawn_time()).count());
    rss_mib.push_back(static_cast<double>(memory.rss_kib) / 1024.0);
    hwm_mib.push_back(static_cast<double>(memory.hwm_kib) / 1024.0);

    auto channel = Dial(*handshake, client);
    auto shutdown_at = Clock::now();
    grpc::Status status = Shutdown(channel);
    std::optional<ExitStatus> exit = process.Wait(kExitTimeout);
    if (!status.ok() || !exit || !exit->exited || exit->code != 0) {
      std::fprintf(stderr, "run %d: shutdown failed (%s, %s)\n", run,
                   status.error_message().c_str(), exit ? exit->Describe().c_str() : "running");
      ++failures;
      continue;
    }
    exit_millis.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - shutdown_at).count());
  }

  if (millis.empty()) {
    std::fprintf(stderr, "no successful run\n");
    return 1;
  }
  std::vector<double> sorted = millis;
  std::sort(sorted.begin(), sorted.end());
  std::printf("binary: %s\n", binary.c_str());
  std::printf("binary size: %.2f MiB (%llu bytes)\n", static_cast<double>(size) / (1024.0 * 1024.0),
              static_cast<unsigned long long>(size));
  std::printf("runs: %d ok, %d failed\n", static_cast<int>(millis.size()), failures);
  std::printf("exec -> handshake line (ms): min %.2f  median %.2f  p90 %.2f  max %.2f\n",
              sorted.front(), Median(millis), Percentile(sorted, 90), sorted.back());
  std::printf("memory after handshake (MiB): median VmRSS %.2f  median VmHWM %.2f\n",
              Median(rss_mib), Median(hwm_mib));
  if (!exit_millis.empty()) {
    std::printf("Shutdown RPC -> process reaped (ms): median %.2f\n", Median(exit_millis));
  }
  return failures == 0 ? 0 : 1;
}
