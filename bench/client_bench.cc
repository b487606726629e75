// HTTP client benchmark (not a test): against the emulators on 127.0.0.1, how long
//   1. a call in flight takes to return after its stop token fires (the server would have
//      answered only after 20 s), which is what StopProvider relies on; and
//   2. a full listing of N workspaces takes (pages of 100), with connections reused.
//
// usage: client_bench [runs=20] [workspaces=1000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "provider/clients/bitbucket.h"
#include "tests/emulators/emulator.h"

namespace {

using arnica::clients::ApiToken;
using arnica::clients::BitbucketClient;
using arnica::emulators::Emulators;
using arnica::emulators::Service;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kUser[] = "{00000000-0000-4000-8000-000000000001}";
constexpr char kEmail[] = "bench@example.test";
constexpr char kToken[] = "bench-token";

json Seed(int workspaces) {
  json list = json::array();
  for (int i = 0; i < workspaces; ++i) {
    char uuid[64], slug[32];
    std::snprintf(uuid, sizeof(uuid), "{10000000-0000-4000-8000-%012d}", i);
    std::snprintf(slug, sizeof(slug), "ws-%05d", i);
    list.push_back({{"uuid", uuid}, {"slug", slug}, {"members", {{{"user", kUser}}}}});
  }
  return {{"users",
           {{{"uuid", kUser},
             {"account_id", "1:bench"},
             {"username", "bench"},
             {"emails", {{{"email", kEmail}}}}}}},
          {"workspaces", list},
          {"credentials",
           {{{"id", "t"},
             {"kind", "api_token"},
             {"user", kUser},
             {"secret", kToken},
             {"scopes", {"read:user:bitbucket", "read:workspace:bitbucket"}}}}}};
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 20;
  int workspaces = argc > 2 ? std::atoi(argv[2]) : 1000;
  auto emulators = Emulators::Start({.seed = Seed(workspaces)});
  if (!emulators.ok()) {
    std::fprintf(stderr, "emulators: %s\n", std::string(emulators.status().message()).c_str());
    return 1;
  }
  auto http = std::make_shared<arnica::http::Client>(arnica::http::ClientOptions{});
  BitbucketClient client(http, {.base_url = (*emulators)->url(Service::kBitbucket),
                                .credential = ApiToken{kEmail, kToken}});

  std::vector<double> listing;
  for (int i = 0; i < runs; ++i) {
    auto start = Clock::now();
    auto result = client.ListUserWorkspaces(std::nullopt);
    listing.push_back(Ms(Clock::now() - start));
    if (!result.ok() || static_cast<int>(result->size()) != workspaces) return 1;
  }

  auto fault = arnica::emulators::FaultFromJson(
      {{"path", "/2.0/user"}, {"action", "delay"}, {"delay_ms", 20000}, {"times", -1}});
  (*emulators)->AddFault(*fault);
  std::vector<double> cancel;
  for (int i = 0; i < runs; ++i) {
    std::stop_source stop;
    Clock::time_point fired;
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      fired = Clock::now();
      stop.request_stop();
    });
    auto result = client.GetCurrentUser(stop.get_token());
    auto returned = Clock::now();
    stopper.join();
    if (!absl::IsCancelled(result.status())) return 1;
    cancel.push_back(Ms(returned - fired));
  }
  std::printf("listing %d workspaces (%d pages): median %.1f ms over %d runs\n", workspaces,
              (workspaces + 99) / 100, Median(listing), runs);
  std::printf("stop -> call returns: median %.1f ms, max %.1f ms over %d runs\n", Median(cancel),
              *std::max_element(cancel.begin(), cancel.end()), runs);
  return 0;
}
