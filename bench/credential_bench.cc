// Credential verification benchmark (not a test): what arnica_bitbucket_credential adds to every
// plan, measured in process against the Bitbucket emulator on 127.0.0.1:
//   1. one fingerprint (PBKDF2-HMAC-SHA256, kFingerprintIterations rounds);
//   2. one VerifyCredential: GET /2.0/user with the token and the scope comparison.
//
// usage: credential_bench [runs=50]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "provider/http/client.h"
#include "provider/resources/credential_check.h"
#include "provider/resources/scopes.h"
#include "tests/emulators/emulator.h"

namespace {

using arnica::emulators::Emulators;
using arnica::emulators::Service;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace resources = arnica::resources;

constexpr char kUser[] = "{00000000-0000-4000-8000-000000000001}";
constexpr char kEmail[] = "bench@example.test";
constexpr char kToken[] = "ATATT3xFAKE-bench-token-000000000000000000000000000000000000";

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

void Report(const char* what, const std::vector<double>& ms) {
  std::printf("%-40s median %8.2f ms  min %8.2f  max %8.2f  (n=%zu)\n", what, Median(ms),
              *std::min_element(ms.begin(), ms.end()), *std::max_element(ms.begin(), ms.end()),
              ms.size());
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 50;
  json seed = {{"users",
                {{{"uuid", kUser},
                  {"account_id", "557058:bench"},
                  {"emails", {{{"email", kEmail}, {"is_primary", true}}}}}}},
               {"credentials",
                {{{"id", "bench"},
                  {"kind", "api_token"},
                  {"user", kUser},
                  {"secret", kToken},
                  {"scopes", resources::DefaultScopes("api_token")}}}}};
  auto emulators = Emulators::Start({.seed = seed});
  if (!emulators.ok()) {
    std::fprintf(stderr, "emulators: %s\n", std::string(emulators.status().message()).c_str());
    return 1;
  }
  auto http = std::make_shared<arnica::http::Client>(arnica::http::ClientOptions{});
  std::string base_url = (*emulators)->url(Service::kBitbucket);
  std::string salt = resources::NewFingerprintSalt();

  std::vector<double> fingerprint_ms, verify_ms;
  for (int i = 0; i < runs; ++i) {
    auto start = Clock::now();
    std::string fingerprint = resources::Fingerprint(kToken, salt);
    fingerprint_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());

    arnica::tf::Diagnostics diagnostics;
    start = Clock::now();
    auto verified =
        resources::VerifyCredential(http, base_url,
                                    {.kind = "api_token",
                                     .principal = kEmail,
                                     .secret = kToken,
                                     .secret_attribute = "secret_wo",
                                     .required_scopes = resources::DefaultScopes("api_token")},
                                    {}, diagnostics);
    verify_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!verified) {
      std::fprintf(stderr, "verification failed\n");
      return 1;
    }
  }
  Report("fingerprint (PBKDF2, 100,000 rounds)", fingerprint_ms);
  Report("VerifyCredential (GET /2.0/user)", verify_ms);
  return 0;
}
