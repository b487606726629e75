// Shared by the HTTP unit tests.
#pragma once

#include <chrono>

#include "provider/http/client.h"

namespace arnica::http::test_support {

// Options that keep retry waits short without changing what is retried.
inline ClientOptions FastRetries(int max_attempts,
                                 std::chrono::milliseconds max_delay = std::chrono::seconds(5)) {
  ClientOptions options;
  options.retry.max_attempts = max_attempts;
  options.retry.base_delay = std::chrono::milliseconds(1);
  options.retry.max_delay = max_delay;
  return options;
}

}  // namespace arnica::http::test_support
