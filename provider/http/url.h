// URL parsing for the HTTP layer, on libcurl's own parser (which never touches the network), so
// that the client and the pager read URLs exactly as curl will. Internal to provider/http.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <string>

namespace arnica::http::url {

struct Deleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using Handle = std::unique_ptr<CURLU, Deleter>;

// The parsed absolute URL, or null when `text` is not one.
inline Handle Parse(const std::string& text) {
  Handle url(curl_url());
  if (url && curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) url.reset();
  return url;
}

// One part of a parsed URL; `flags` as for curl_url_get (CURLU_DEFAULT_PORT, ...).
inline std::optional<std::string> Part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, flags) != CURLUE_OK || raw == nullptr) return std::nullopt;
  std::string text(raw);
  curl_free(raw);
  return text;
}

}  // namespace arnica::http::url
