#include "provider/clients/arnica.h"

#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "provider/clients/bitbucket.h"
#include "provider/clients/fields.h"
#include "provider/http/bitbucket_errors.h"

namespace arnica::clients {
namespace {

using internal::StringField;
using nlohmann::json;

constexpr char kService[] = "Arnica";
constexpr int kInventoryPageSize = 100;
constexpr int kMaxInventoryPages = 10000;

// Arnica's error body: {"ui", "message", "error", "statusCode", "id"}.
http::ServiceError ParseArnicaError(const http::Response& response) {
  http::ServiceError error;
  error.service = kService;
  error.status = response.status;
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) {
    error.message = http::CleanServerText(StringField(body, "message"));
    error.kind = StringField(body, "error");
    std::string id = StringField(body, "id");
    if (!id.empty()) error.detail = "error id " + id;
  } else {
    error.message = http::CleanServerText(response.body);
  }
  if (error.kind.empty()) error.kind = absl::StrCat("http_", response.status);
  return error;
}

std::string Remedy(long status) {
  switch (status) {
    case 401:
    case 403:
      return "Arnica answers 403 for a wrong, expired or revoked API token and for a token "
             "without the scope this call needs: check the token (arnica.api_token or "
             "ARNICA_API_TOKEN) and its scopes in Arnica under Admin, API.";
    case 404:
      return "Arnica has no such object; it may have been removed in Arnica.";
    default:
      return "";
  }
}

absl::StatusOr<ArnicaIntegration> ParseIntegration(const json& body, std::string_view what) {
  if (!body.is_object() || StringField(body, "id").empty()) {
    return internal::Malformed(kService, what);
  }
  ArnicaIntegration integration{.id = StringField(body, "id"),
                                .name = StringField(body, "name"),
                                .principal = StringField(body, "principal"),
                                .status = StringField(body, "status"),
                                .reason = StringField(body, "reason")};
  if (auto it = body.find("workspaces"); it != body.end() && it->is_array()) {
    for (const json& slug : *it) {
      if (!slug.is_string()) return internal::Malformed(kService, what);
      integration.workspaces.push_back(slug.get<std::string>());
    }
  }
  return integration;
}

absl::StatusOr<InventoryRepo> ParseRepo(const json& item) {
  if (!item.is_object() || StringField(item, "id").empty()) {
    return internal::Malformed(kService, "GET /v1/inventory/repos");
  }
  return InventoryRepo{.id = StringField(item, "id"),
                       .name = StringField(item, "name"),
                       .full_name = StringField(item, "fullName"),
                       .url = StringField(item, "url"),
                       .scm_type = StringField(item, "scmType"),
                       .organization = StringField(item, "organization"),
                       .project = StringField(item, "project")};
}

}  // namespace

ArnicaClient::ArnicaClient(std::shared_ptr<http::Client> http, ArnicaOptions options)
    : http_(std::move(http)), options_(std::move(options)) {
  while (absl::EndsWith(options_.base_url, "/")) options_.base_url.pop_back();
}

absl::StatusOr<http::Response> ArnicaClient::Send(std::string method, std::string path,
                                                  std::string body, std::stop_token stop,
                                                  bool repeatable) {
  http::Request request{.method = std::move(method),
                        .url = options_.base_url + path,
                        .headers = {{"Accept", "application/json"}},
                        .secret_headers = {{"Authorization", "Bearer " + options_.api_token}},
                        .body = std::move(body),
                        .repeatable = repeatable};
  if (!request.body.empty()) request.headers.push_back({"Content-Type", "application/json"});
  return http_->Do(request, stop);
}

absl::Status ArnicaClient::ErrorFor(const http::Response& response, std::string_view what) const {
  http::ServiceError error = ParseArnicaError(response);
  std::string said = error.message.empty() ? "" : absl::StrCat(": ", error.message);
  if (error.detail) absl::StrAppend(&said, " (", *error.detail, ")");
  std::string remedy = Remedy(error.status);
  return http::ToStatus(
      error, absl::StrCat(kService, " answered HTTP ", error.status, " to ", std::string(what),
                          said, remedy.empty() ? "" : ". ", remedy));
}

absl::StatusOr<ArnicaTokenInfo> ArnicaClient::CheckToken(std::stop_token stop) {
  absl::StatusOr<http::Response> response = Send("GET", arnica_paths::kAuthToken, "", stop);
  if (!response.ok()) return response.status();
  if (!internal::Success(response->status)) return ErrorFor(*response, "the token check");
  json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (StringField(body, "arnicaOrgId").empty()) {
    return internal::Malformed(kService, "GET /v1/auth/token");
  }
  return ArnicaTokenInfo{StringField(body, "arnicaOrgId"), StringField(body, "keyId")};
}

// Offset paging: the list is complete only when every offset up to `total` was read, and a
// total that changes between pages means the list moved under us; both are errors rather than
// a shorter list.
absl::StatusOr<std::vector<InventoryRepo>> ArnicaClient::ListInventoryRepos(std::stop_token stop) {
  std::vector<InventoryRepo> repos;
  std::optional<long> total;
  for (int page = 1; page <= kMaxInventoryPages; ++page) {
    std::string path = absl::StrCat(arnica_paths::kInventoryRepos, "?offset=", repos.size(),
                                    "&limit=", kInventoryPageSize);
    absl::StatusOr<http::Response> response = Send("GET", path, "", stop);
    if (!response.ok()) return response.status();
    if (!internal::Success(response->status)) {
      return ErrorFor(*response, absl::StrCat("page ", page, " of the repository inventory"));
    }
    json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("repos") || !body["repos"].is_array() ||
        !body.contains("total") || !body["total"].is_number_integer()) {
      return internal::Malformed(kService, "GET /v1/inventory/repos");
    }
    long page_total = body["total"].get<long>();
    if (total && *total != page_total) {
      return absl::AbortedError(
          "Arnica's repository inventory changed while it was being read; run again.");
    }
    total = page_total;
    for (const json& item : body["repos"]) {
      absl::StatusOr<InventoryRepo> repo = ParseRepo(item);
      if (!repo.ok()) return repo.status();
      repos.push_back(*std::move(repo));
    }
    if (static_cast<long>(repos.size()) >= *total) return repos;
    if (body["repos"].empty()) {
      return internal::Malformed(kService,
                                 "GET /v1/inventory/repos (an empty page before the end)");
    }
  }
  return absl::FailedPreconditionError(
      "Arnica's repository inventory has more pages than this provider reads; stopped rather "
      "than return part of it.");
}

absl::StatusOr<ArnicaIntegration> ArnicaClient::RegisterIntegration(std::string_view name,
                                                                    std::string_view principal,
                                                                    std::string_view secret,
                                                                    std::stop_token stop) {
  json body = {{"name", std::string(name)},
               {"principal", std::string(principal)},
               {"secret", std::string(secret)}};
  absl::StatusOr<http::Response> response =
      Send("POST", arnica_paths::kBitbucketIntegrations, body.dump(), stop);
  if (!response.ok()) return response.status();
  if (!internal::Success(response->status)) {
    return ErrorFor(*response, "the registration of the Bitbucket Cloud integration");
  }
  return ParseIntegration(json::parse(response->body, nullptr, false),
                          "POST /v1/integrations/bitbucket-cloud");
}

absl::StatusOr<std::optional<ArnicaIntegration>> ArnicaClient::GetIntegration(
    std::string_view id, std::stop_token stop) {
  std::string path = absl::StrCat(arnica_paths::kBitbucketIntegrations, "/", EncodeSegment(id));
  absl::StatusOr<http::Response> response = Send("GET", path, "", stop);
  if (!response.ok()) return response.status();
  if (response->status == 404) return std::nullopt;
  if (!internal::Success(response->status)) {
    return ErrorFor(*response, "reading the Bitbucket Cloud integration");
  }
  absl::StatusOr<ArnicaIntegration> integration = ParseIntegration(
      json::parse(response->body, nullptr, false), "GET /v1/integrations/bitbucket-cloud/{id}");
  if (!integration.ok()) return integration.status();
  return std::optional<ArnicaIntegration>(*std::move(integration));
}

absl::StatusOr<std::vector<ArnicaIntegration>> ArnicaClient::ListIntegrations(
    std::stop_token stop) {
  absl::StatusOr<http::Response> response =
      Send("GET", arnica_paths::kBitbucketIntegrations, "", stop);
  if (!response.ok()) return response.status();
  if (!internal::Success(response->status)) {
    return ErrorFor(*response, "listing the Bitbucket Cloud integrations");
  }
  json body = json::parse(response->body, nullptr, false);
  if (!body.is_object() || !body.contains("integrations") || !body["integrations"].is_array()) {
    return internal::Malformed(kService, "GET /v1/integrations/bitbucket-cloud");
  }
  std::vector<ArnicaIntegration> integrations;
  for (const json& item : body["integrations"]) {
    absl::StatusOr<ArnicaIntegration> integration =
        ParseIntegration(item, "GET /v1/integrations/bitbucket-cloud");
    if (!integration.ok()) return integration.status();
    integrations.push_back(*std::move(integration));
  }
  return integrations;
}

absl::StatusOr<ArnicaIntegration> ArnicaClient::RotateIntegration(std::string_view id,
                                                                  std::string_view principal,
                                                                  std::string_view secret,
                                                                  std::stop_token stop) {
  std::string path = absl::StrCat(arnica_paths::kBitbucketIntegrations, "/", EncodeSegment(id),
                                  arnica_paths::kCredentialsSuffix);
  json body = {{"principal", std::string(principal)}, {"secret", std::string(secret)}};
  absl::StatusOr<http::Response> response = Send("PUT", path, body.dump(), stop);
  if (!response.ok()) return response.status();
  if (!internal::Success(response->status)) {
    return ErrorFor(*response, "the rotation of the Bitbucket Cloud integration's credential");
  }
  return ParseIntegration(json::parse(response->body, nullptr, false),
                          "PUT /v1/integrations/bitbucket-cloud/{id}/credentials");
}

absl::StatusOr<std::optional<ArnicaIntegration>> ArnicaClient::SyncIntegration(
    std::string_view id, std::stop_token stop) {
  std::string path = absl::StrCat(arnica_paths::kBitbucketIntegrations, "/", EncodeSegment(id),
                                  arnica_paths::kSyncSuffix);
  absl::StatusOr<http::Response> response = Send("POST", path, "", stop, /*repeatable=*/true);
  if (!response.ok()) return response.status();
  if (response->status == 404) return std::nullopt;
  if (!internal::Success(response->status)) {
    return ErrorFor(*response, "the ingestion of the Bitbucket Cloud integration's workspaces");
  }
  absl::StatusOr<ArnicaIntegration> integration =
      ParseIntegration(json::parse(response->body, nullptr, false),
                       "POST /v1/integrations/bitbucket-cloud/{id}/sync");
  if (!integration.ok()) return integration.status();
  return std::optional<ArnicaIntegration>(*std::move(integration));
}

absl::Status ArnicaClient::RemoveIntegration(std::string_view id, std::stop_token stop) {
  std::string path = absl::StrCat(arnica_paths::kBitbucketIntegrations, "/", EncodeSegment(id));
  absl::StatusOr<http::Response> response = Send("DELETE", path, "", stop);
  if (!response.ok()) return response.status();
  if (!internal::Success(response->status)) {
    return ErrorFor(*response, "the removal of the Bitbucket Cloud integration");
  }
  return absl::OkStatus();
}

}  // namespace arnica::clients
