// Main-job benchmark (not a test): the quickstart (examples/quickstart/main.tf) applied by
// OpenTofu against the emulators seeded with N workspaces of R repositories each, then
//   1. the first apply (credential, N memberships, the integration and its ingestion);
//   2. a plan that finds nothing to do, the cost of a CI drift check, with its calls per service;
//   3. a drift plan after one workspace went missing from Arnica's inventory, and the apply
//      that repairs it (one ingestion re-run).
// Every command is timed from spawn to exit, with OpenTofu logging at ERROR.
//
// usage: quickstart_bench [sizes=4,50,200] [repos=3]   (needs ARNICA_TOFU, like the e2e tests)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/tofu_harness.h"
#include "tests/emulators/emulator.h"

namespace {

using arnica::e2e::CommandResult;
using arnica::e2e::Workspace;
using arnica::emulators::Emulators;
using arnica::emulators::Service;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kSvc[] = "{5e1c0a00-0000-4000-8000-00000000a001}";
constexpr char kAdmin[] = "{5e1c0a00-0000-4000-8000-00000000a002}";
constexpr char kToken[] = "ATATT3xFAKE-bench-svc-token";
constexpr char kArnicaKey[] = "arnica-bench-key";
constexpr char kOrg[] = "arnica-bench-org";

json Seed(int count, int repos) {
  json workspaces = json::array(), inventory = json::array();
  for (int i = 0; i < count; ++i) {
    char uuid[64], slug[32];
    std::snprintf(uuid, sizeof(uuid), "{7e000000-0000-4000-8000-%012d}", i);
    std::snprintf(slug, sizeof(slug), "ws-%04d", i);
    json repositories = json::array();
    for (int r = 0; r < repos; ++r) {
      char repo_uuid[64];
      std::snprintf(repo_uuid, sizeof(repo_uuid), "{9e000000-0000-4000-%04d-%012d}", r, i);
      repositories.push_back({{"uuid", repo_uuid}, {"slug", "repo-" + std::to_string(r)}});
    }
    workspaces.push_back(
        {{"uuid", uuid},
         {"slug", slug},
         {"members", {{{"user", kSvc}}, {{"user", kAdmin}, {"permission", "owner"}}}},
         {"groups", {{{"slug", "administrators"}, {"members", {kAdmin}}}}},
         {"repositories", repositories}});
  }
  return {
      {"users",
       {{{"uuid", kSvc},
         {"account_id", "557058:svc"},
         {"emails", {{{"email", "svc@example.test"}}}}},
        {{"uuid", kAdmin}, {"account_id", "557058:admin"}}}},
      {"workspaces", workspaces},
      {"credentials",
       {{{"id", "consumer"},
         {"kind", "oauth_consumer"},
         {"user", kAdmin},
         {"client_id", "bench"},
         {"secret", "bench-secret"},
         {"scopes", {"account", "account:write", "team"}}},
        {{"id", "svc"},
         {"kind", "api_token"},
         {"user", kSvc},
         {"secret", kToken},
         {"scopes",
          {"read:user:bitbucket", "read:workspace:bitbucket", "read:repository:bitbucket",
           "read:project:bitbucket", "read:pullrequest:bitbucket", "write:pullrequest:bitbucket",
           "read:webhook:bitbucket", "write:webhook:bitbucket", "delete:webhook:bitbucket"}}}}},
      {"arnica_tenants",
       {{{"org_id", kOrg},
         {"tokens",
          {{{"token", kArnicaKey},
            {"key_id", "bench"},
            {"scopes", {"inventory:read", "integrations:read", "integrations:write"}}}}}}}}};
}

std::string Quickstart() {
  std::ifstream in(std::string(ARNICA_SOURCE_DIR) + "/examples/quickstart/main.tf");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Timed {
  double seconds = 0;
  CommandResult result;
};

Timed Run(Workspace& workspace, std::vector<std::string> args,
          const std::map<std::string, std::string>& environment, int expected) {
  auto start = Clock::now();
  CommandResult result = workspace.Tofu(std::move(args), environment);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (result.exit_code != expected) {
    std::fprintf(stderr, "exit %d, expected %d:\n%s\n", result.exit_code, expected,
                 result.Output().c_str());
    std::exit(1);
  }
  return {seconds, std::move(result)};
}

void Measure(int count, int repos) {
  auto started = Emulators::Start({.seed = Seed(count, repos)});
  if (!started.ok()) std::exit(1);
  Emulators& emulators = **started;
  Workspace workspace(ARNICA_RELEASE_DIR);
  workspace.WriteFile("main.tf", Quickstart());
  std::string bitbucket = emulators.url(Service::kBitbucket);
  std::map<std::string, std::string> environment = {
      {"TF_LOG", "ERROR"},
      {"BITBUCKET_API_BASE_URL", bitbucket},
      {"BITBUCKET_OAUTH_TOKEN_URL", bitbucket + "/site/oauth2/access_token"},
      {"BITBUCKET_OAUTH_CLIENT_ID", "bench"},
      {"BITBUCKET_OAUTH_CLIENT_SECRET", "bench-secret"},
      {"ARNICA_API_BASE_URL", emulators.url(Service::kArnica)},
      {"ARNICA_API_TOKEN", kArnicaKey},
      {"TF_VAR_service_account_email", "svc@example.test"},
      {"TF_VAR_service_account_token", kToken}};

  Timed apply = Run(workspace, {"apply", "-auto-approve"}, environment, 0);
  emulators.ClearRequests();
  Timed plan = Run(workspace, {"plan", "-detailed-exitcode"}, environment, 0);
  std::map<std::string, int> calls;
  for (const auto& entry : emulators.Requests()) ++calls[entry.service];
  if (!emulators.Apply({{"op", "remove_inventory"}, {"org", kOrg}, {"workspace", "ws-0000"}})
           .ok()) {
    std::exit(1);
  }
  Timed drift = Run(workspace, {"plan", "-detailed-exitcode"}, environment, 2);
  Timed repair = Run(workspace, {"apply", "-auto-approve"}, environment, 0);
  std::printf("| %d | %d | %.2f | %.2f | %d | %d | %.2f | %.2f |\n", count, count * repos,
              apply.seconds, plan.seconds, calls["bitbucket"], calls["arnica"], drift.seconds,
              repair.seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {4, 50, 200};
  if (argc > 1) {
    sizes.clear();
    std::stringstream list(argv[1]);
    for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::atoi(item.c_str()));
  }
  int repos = argc > 2 ? std::atoi(argv[2]) : 3;
  std::printf(
      "| workspaces | repositories | first apply (s) | no-change plan (s) | Bitbucket calls | "
      "Arnica calls | drift plan (s) | repairing apply (s) |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (int count : sizes) Measure(count, repos);
  return 0;
}
