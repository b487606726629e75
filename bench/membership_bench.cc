// Plan cost benchmark (not a test): Bitbucket API calls and wall time of `tofu plan` for the
// service account's Administrators membership in N workspaces, as one plural resource or as N
// singular resources, with 50 ms of latency injected into every Bitbucket answer.
//
// usage: membership_bench [sizes=10,100,1000]   (needs ARNICA_TOFU, like the e2e tests)
//
// For each size and shape: the emulators are seeded with N workspaces, `tofu apply` runs
// without latency, then the request log is cleared, the latency fault armed, and one
// `tofu plan` (logging at ERROR) is timed from spawn to exit, once without and once with the
// latency. "latency part" is the difference; "bound" is what the provider's per-host
// concurrency limit allows for that many calls: calls x 50 ms / limit.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/tofu_harness.h"
#include "tests/emulators/emulator.h"

namespace {

using arnica::e2e::Workspace;
using arnica::emulators::Emulators;
using arnica::emulators::Service;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kSvc[] = "{5e1c0a00-0000-4000-8000-00000000a001}";
constexpr char kAdmin[] = "{5e1c0a00-0000-4000-8000-00000000a002}";
constexpr int kLatencyMs = 50;
constexpr int kConcurrency = 4;  // the provider's default max_concurrency

json Seed(int count) {
  json workspaces = json::array();
  for (int i = 0; i < count; ++i) {
    char uuid[64], slug[32];
    std::snprintf(uuid, sizeof(uuid), "{7e000000-0000-4000-8000-%012d}", i);
    std::snprintf(slug, sizeof(slug), "ws-%04d", i);
    workspaces.push_back(
        {{"uuid", uuid},
         {"slug", slug},
         {"members", {{{"user", kSvc}}, {{"user", kAdmin}, {"permission", "owner"}}}},
         {"groups", {{{"slug", "administrators"}, {"members", {kAdmin}}}}}});
  }
  return {{"users",
           {{{"uuid", kSvc}, {"account_id", "557058:svc"}},
            {{"uuid", kAdmin}, {"account_id", "557058:admin"}}}},
          {"workspaces", workspaces},
          {"credentials",
           {{{"id", "consumer"},
             {"kind", "oauth_consumer"},
             {"user", kAdmin},
             {"client_id", "bench"},
             {"secret", "bench-secret"},
             {"scopes", {"account", "account:write"}}}}}};
}

std::string Config(const Emulators& emulators, int count, bool plural) {
  std::string bitbucket = emulators.url(Service::kBitbucket);
  std::ostringstream out;
  out << "provider \"arnica\" {\n  bitbucket {\n    base_url = \"" << bitbucket
      << "\"\n    oauth_client_id = \"bench\"\n    oauth_client_secret = \"bench-secret\"\n"
      << "    oauth_token_url = \"" << bitbucket << "/site/oauth2/access_token\"\n  }\n}\n";
  if (plural) {
    out << "resource \"arnica_bitbucket_group_memberships\" \"svc\" {\n  user = \"" << kSvc
        << "\"\n}\n";
  } else {
    out << "resource \"arnica_bitbucket_group_membership\" \"svc\" {\n"
        << "  for_each  = toset([for i in range(" << count
        << ") : format(\"ws-%04d\", i)])\n  workspace = each.value\n  user = \"" << kSvc
        << "\"\n}\n";
  }
  return out.str();
}

struct Row {
  int calls = 0;
  double seconds = 0;   // the plan with latency
  double baseline = 0;  // the same plan without latency: the host's own time
};

double TimedPlan(Workspace& workspace, const std::map<std::string, std::string>& environment) {
  auto start = Clock::now();
  auto plan = workspace.Tofu({"plan", "-detailed-exitcode"}, environment);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (plan.exit_code != 0) {
    std::fprintf(stderr, "plan exit %d:\n%s\n", plan.exit_code, plan.Output().c_str());
    std::exit(1);
  }
  return seconds;
}

Row Measure(int count, bool plural) {
  auto emulators = Emulators::Start({.seed = Seed(count)});
  if (!emulators.ok()) std::exit(1);
  Workspace workspace(ARNICA_RELEASE_DIR);
  workspace.WriteConfig(Config(**emulators, count, plural));
  std::map<std::string, std::string> quiet = {{"TF_LOG", "ERROR"}};
  if (workspace.Tofu({"apply", "-auto-approve"}, quiet).exit_code != 0) {
    std::fprintf(stderr, "apply failed:\n%s\n", workspace.history().c_str());
    std::exit(1);
  }
  double baseline = TimedPlan(workspace, quiet);
  (*emulators)->ClearRequests();
  (*emulators)
      ->AddFault(*arnica::emulators::FaultFromJson({{"service", "bitbucket"},
                                                    {"action", "delay"},
                                                    {"delay_ms", kLatencyMs},
                                                    {"times", -1}}));
  double seconds = TimedPlan(workspace, quiet);
  return {static_cast<int>((*emulators)->Requests().size()), seconds, baseline};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {10, 100, 1000};
  if (argc > 1) {
    sizes.clear();
    std::stringstream list(argv[1]);
    for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::atoi(item.c_str()));
  }
  std::printf(
      "| workspaces | shape | Bitbucket calls | plan (s) | plan without latency (s) | "
      "latency part (s) | bound (s) | ratio |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (int count : sizes) {
    for (bool plural : {true, false}) {
      Row row = Measure(count, plural);
      double bound = row.calls * kLatencyMs / 1000.0 / kConcurrency;
      double latency = row.seconds - row.baseline;
      std::printf("| %d | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", count,
                  plural ? "plural" : "singular", row.calls, row.seconds, row.baseline, latency,
                  bound, latency / bound);
      std::fflush(stdout);
    }
  }
  return 0;
}
