#include "provider/clients/atlassian_admin.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "provider/clients/bitbucket.h"
#include "provider/clients/fields.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/http/paging.h"

namespace arnica::clients {
namespace {

using internal::StringField;
using nlohmann::json;

constexpr char kService[] = "Atlassian Admin API";

// The Admin API's error body: {"errors": [{"status", "code", "title", "detail"}]}, or an older
// {"code", "message"}; anything else is quoted, cleaned.
http::ServiceError ParseAdminError(const http::Response& response) {
  http::ServiceError error;
  error.service = kService;
  error.status = response.status;
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("errors") && body["errors"].is_array() &&
      !body["errors"].empty()) {
    const json& first = body["errors"][0];
    error.kind = StringField(first, "code");
    error.message = StringField(first, "title");
    std::string detail = StringField(first, "detail");
    if (!detail.empty()) error.detail = detail;
  } else if (body.is_object()) {
    error.message = StringField(body, "message");
  } else {
    error.message = http::CleanServerText(response.body);
  }
  if (error.kind.empty()) error.kind = absl::StrCat("http_", response.status);
  return error;
}

std::string Remedy(long status, const std::string& org_id) {
  switch (status) {
    case 401:
      return "Check the organisation API key (atlassian_admin.api_key or "
             "ATLASSIAN_ADMIN_API_KEY): it may be wrong, expired or revoked.";
    case 403:
      return absl::StrCat("The API key is not allowed to do this in organisation ", org_id,
                          ": check that the key belongs to this organisation and may manage "
                          "users and groups.");
    case 404:
      return absl::StrCat("Check the organisation id (", org_id,
                          "), and that the directory, group and account exist in it.");
    case 409:
      return "The account is already in the group.";
    default:
      return "";
  }
}

}  // namespace

AtlassianAdminClient::AtlassianAdminClient(std::shared_ptr<http::Client> http,
                                           AtlassianAdminOptions options)
    : http_(std::move(http)), options_(std::move(options)) {
  std::string& base = options_.base_url;
  while (absl::EndsWith(base, "/")) base.pop_back();
  if (absl::EndsWith(base, "/admin")) base.resize(base.size() - 6);
}

std::string AtlassianAdminClient::Url(std::string_view path) const {
  return absl::StrCat(options_.base_url, "/admin/v2/orgs/", EncodeSegment(options_.org_id),
                      std::string(path));
}

http::HeaderList AtlassianAdminClient::Authorization() const {
  return {{"Authorization", "Bearer " + options_.api_key}};
}

absl::Status AtlassianAdminClient::ErrorFor(const http::Response& response) const {
  http::ServiceError error = ParseAdminError(response);
  std::string said = error.message.empty() ? "" : absl::StrCat(": ", error.message);
  if (error.detail) absl::StrAppend(&said, " (", *error.detail, ")");
  std::string remedy = Remedy(error.status, options_.org_id);
  return http::ToStatus(error, absl::StrCat(kService, " answered HTTP ", error.status, said,
                                            remedy.empty() ? "" : ". ", remedy));
}

absl::StatusOr<std::vector<json>> AtlassianAdminClient::ReadAll(std::string url,
                                                                std::stop_token stop) {
  http::PageShape shape{.values = "data",
                        .next = json::json_pointer("/links/next"),
                        .error = [this](const http::Response& r) { return ErrorFor(r); }};
  return http::FetchAllPages(*http_, {.url = std::move(url), .secret_headers = Authorization()},
                             stop, /*max_pages=*/1000, shape);
}

absl::StatusOr<std::vector<Directory>> AtlassianAdminClient::ListDirectories(std::stop_token stop) {
  absl::StatusOr<std::vector<json>> items = ReadAll(Url("/directories"), stop);
  if (!items.ok()) return items.status();
  std::vector<Directory> directories;
  for (const json& item : *items) {
    if (StringField(item, "directoryId").empty()) {
      return internal::Malformed(kService, "GET directories");
    }
    directories.push_back({StringField(item, "directoryId"), StringField(item, "name")});
  }
  return directories;
}

absl::StatusOr<std::vector<OrgGroup>> AtlassianAdminClient::ListGroups(std::string_view directory,
                                                                       std::string_view search_term,
                                                                       std::string_view account_id,
                                                                       std::stop_token stop) {
  std::string url = Url(absl::StrCat("/directories/", EncodeSegment(directory), "/groups"));
  std::string separator = "?";
  if (!search_term.empty()) {
    absl::StrAppend(&url, separator, "searchTerm=", EncodeSegment(search_term));
    separator = "&";
  }
  if (!account_id.empty())
    absl::StrAppend(&url, separator, "accountIds=", EncodeSegment(account_id));
  absl::StatusOr<std::vector<json>> items = ReadAll(std::move(url), stop);
  if (!items.ok()) return items.status();
  std::vector<OrgGroup> groups;
  for (const json& item : *items) {
    if (StringField(item, "groupId").empty()) return internal::Malformed(kService, "GET groups");
    groups.push_back({StringField(item, "groupId"), StringField(item, "name")});
  }
  return groups;
}

absl::StatusOr<std::optional<std::vector<OrgMember>>> AtlassianAdminClient::ListGroupMembers(
    std::string_view directory, std::string_view group, std::stop_token stop) {
  absl::StatusOr<std::vector<json>> items =
      ReadAll(Url(absl::StrCat("/directories/", EncodeSegment(directory), "/groups/",
                               EncodeSegment(group), "/memberships")),
              stop);
  if (absl::IsNotFound(items.status())) return std::nullopt;
  if (!items.ok()) return items.status();
  std::vector<OrgMember> members;
  for (const json& item : *items) {
    if (StringField(item, "accountId").empty()) {
      return internal::Malformed(kService, "GET group memberships");
    }
    members.push_back({StringField(item, "accountId"), StringField(item, "name")});
  }
  return std::optional<std::vector<OrgMember>>(std::move(members));
}

absl::Status AtlassianAdminClient::AddGroupMember(std::string_view directory,
                                                  std::string_view group,
                                                  std::string_view account_id,
                                                  std::stop_token stop) {
  http::Request request{
      .method = "POST",
      .url = Url(absl::StrCat("/directories/", EncodeSegment(directory), "/groups/",
                              EncodeSegment(group), "/memberships")),
      .headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
      .secret_headers = Authorization(),
      .body = json{{"accountId", std::string(account_id)}}.dump()};
  absl::StatusOr<http::Response> response = http_->Do(request, stop);
  if (!response.ok()) return response.status();
  if (!internal::Success(response->status)) return ErrorFor(*response);
  return absl::OkStatus();
}

absl::Status AtlassianAdminClient::RemoveGroupMember(std::string_view directory,
                                                     std::string_view group,
                                                     std::string_view account_id,
                                                     std::stop_token stop) {
  http::Request request{
      .method = "DELETE",
      .url = Url(absl::StrCat("/directories/", EncodeSegment(directory), "/groups/",
                              EncodeSegment(group), "/memberships/", EncodeSegment(account_id))),
      .secret_headers = Authorization()};
  absl::StatusOr<http::Response> response = http_->Do(request, stop);
  if (!response.ok()) return response.status();
  if (!internal::Success(response->status)) return ErrorFor(*response);
  return absl::OkStatus();
}

}  // namespace arnica::clients
