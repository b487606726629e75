#include "provider/resources/arnica_provider.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/http/client.h"
#include "provider/http/url.h"
#include "provider/plugin/log.h"
#include "provider/resources/bitbucket_credential.h"
#include "provider/resources/bitbucket_group_membership.h"
#include "provider/resources/bitbucket_group_memberships.h"
#include "provider/resources/bitbucket_integration.h"
#include "provider/resources/bitbucket_user.h"
#include "provider/resources/bitbucket_workspaces.h"
#include "provider/resources/services.h"

namespace arnica::resources {
namespace {

using tf::Attribute;
using tf::AttributePath;
using tf::Type;
using tf::Value;

constexpr int64_t kDefaultTimeoutSeconds = 30;
constexpr int64_t kDefaultConcurrency = 4;

// One setting of a block: its attribute, the environment variable that stands in for it, and
// whether it is a secret.
struct Setting {
  const char* name;
  const char* env;
  bool secret;
  const char* description;
};

constexpr Setting kBitbucket[] = {
    {"base_url", "BITBUCKET_API_BASE_URL", false, "API root. Default `https://api.bitbucket.org`."},
    {"email", "BITBUCKET_EMAIL", false,
     "Atlassian account e-mail, used with `api_token` (not the Bitbucket username)."},
    {"api_token", "BITBUCKET_API_TOKEN", true, "Atlassian API token with Bitbucket scopes."},
    {"access_token", "BITBUCKET_ACCESS_TOKEN", true, "Workspace or project access token (Bearer)."},
    {"oauth_client_id", "BITBUCKET_OAUTH_CLIENT_ID", false,
     "OAuth consumer key, for the client-credentials grant."},
    {"oauth_client_secret", "BITBUCKET_OAUTH_CLIENT_SECRET", true, "OAuth consumer secret."},
    {"oauth_token_url", "BITBUCKET_OAUTH_TOKEN_URL", false,
     "Token endpoint. Default `https://bitbucket.org/site/oauth2/access_token`."},
    {"username", "BITBUCKET_USERNAME", false, "Bitbucket username, for a legacy app password."},
    {"app_password", "BITBUCKET_APP_PASSWORD", true,
     "Legacy app password. Bitbucket removed app passwords on 2026-07-28; use `api_token`."},
};

constexpr Setting kAtlassianAdmin[] = {
    {"base_url", "ATLASSIAN_ADMIN_BASE_URL", false,
     "API root. Default `https://api.atlassian.com`."},
    {"org_id", "ATLASSIAN_ADMIN_ORG_ID", false, "Organization id (admin.atlassian.com)."},
    {"api_key", "ATLASSIAN_ADMIN_API_KEY", true, "Organization API key."},
};

constexpr Setting kArnica[] = {
    {"base_url", "ARNICA_API_BASE_URL", false, "API root. Default `https://api.app.arnica.io`."},
    {"api_token", "ARNICA_API_TOKEN", true, "Arnica API token."},
};

template <std::size_t N>
tf::Block SettingsBlock(const Setting (&settings)[N], std::string description) {
  tf::Block block;
  block.Describe(std::move(description));
  for (const Setting& setting : settings) {
    Attribute attribute =
        Attribute::Optional(setting.name, Type::String())
            .Describe(absl::StrCat(setting.description, " Environment: `", setting.env, "`."));
    if (setting.secret) attribute.Sensitive();
    block.Add(std::move(attribute));
  }
  return block;
}

// The values of one block, configuration first, then the environment. A value unknown until
// apply is remembered by its path: nothing is substituted for it.
struct Settings {
  std::map<std::string, std::string> values;
  std::optional<AttributePath> unknown;

  bool Has(const std::string& name) const { return values.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

template <std::size_t N>
Settings ReadSettings(const Value& config, const char* block_name, const Setting (&settings)[N]) {
  Settings out;
  Value block = config.GetAttr(block_name);
  if (block.is_unknown()) out.unknown = AttributePath::Root(block_name);
  for (const Setting& setting : settings) {
    Value value = block.is_known_non_null() ? block.GetAttr(setting.name) : Value();
    if (block.is_known_non_null() && value.is_unknown()) {
      out.unknown = AttributePath::Root(block_name).Attr(setting.name);
    } else if (block.is_known_non_null() && value.is_known_non_null()) {
      if (!value.AsString().empty()) out.values[setting.name] = value.AsString();
    } else if (const char* env = std::getenv(setting.env); env != nullptr && *env != '\0') {
      out.values[setting.name] = env;
    }
  }
  return out;
}

Missing UnknownUntilApply(const AttributePath& path) {
  return {"Provider Configuration Not Known Yet",
          absl::StrCat("`", path.ToString(),
                       "` depends on a value known only after apply, so this cannot be read "
                       "during plan. Give it a value known at plan time (a variable or a "
                       "literal), or apply the resources it depends on first (-target)."),
          path};
}

// Exactly one credential kind; its diagnostic when there is none or more than one.
std::variant<clients::BitbucketCredential, Missing> BitbucketCredentialFrom(const Settings& s) {
  std::vector<std::pair<std::string, clients::BitbucketCredential>> found;
  if (s.Has("api_token") || s.Has("email")) {
    found.emplace_back("email + api_token", clients::ApiToken{s.Get("email"), s.Get("api_token")});
  }
  if (s.Has("oauth_client_id") || s.Has("oauth_client_secret")) {
    found.emplace_back(
        "oauth_client_id + oauth_client_secret",
        clients::OAuthConsumer{s.Get("oauth_client_id"), s.Get("oauth_client_secret"),
                               s.Get("oauth_token_url", clients::kBitbucketTokenUrl)});
  }
  if (s.Has("access_token")) {
    found.emplace_back("access_token", clients::AccessToken{s.Get("access_token")});
  }
  if (s.Has("username") || s.Has("app_password")) {
    found.emplace_back("username + app_password",
                       clients::AppPassword{s.Get("username"), s.Get("app_password")});
  }
  AttributePath block = AttributePath::Root("bitbucket");
  if (found.empty()) {
    return Missing{"Bitbucket Credentials Missing",
                   "Configure the `bitbucket` block: `email` and `api_token` (an Atlassian API "
                   "token with scopes), or `oauth_client_id` and `oauth_client_secret`, or "
                   "`access_token`; or set BITBUCKET_EMAIL and BITBUCKET_API_TOKEN.",
                   block};
  }
  if (found.size() > 1) {
    std::string kinds;
    for (const auto& [name, credential] : found)
      absl::StrAppend(&kinds, kinds.empty() ? "" : ", ", name);
    return Missing{"Conflicting Bitbucket Credentials",
                   absl::StrCat("The `bitbucket` block (with the BITBUCKET_* environment) "
                                "names more than one credential: ",
                                kinds, ". Keep exactly one."),
                   block};
  }
  const auto& [name, credential] = found.front();
  bool incomplete = (s.Has("api_token") != s.Has("email")) ||
                    (s.Has("oauth_client_id") != s.Has("oauth_client_secret")) ||
                    (s.Has("username") != s.Has("app_password"));
  if (incomplete) {
    return Missing{"Incomplete Bitbucket Credentials",
                   absl::StrCat("The credential ", name, " needs both values; one is missing."),
                   block};
  }
  return credential;
}

// A service URL must be absolute https, or http to a loopback address (a local emulator).
void CheckServiceUrl(const Value& value, const AttributePath& path, tf::Diagnostics& diagnostics) {
  if (!value.is_known_non_null()) return;
  const std::string& text = value.AsString();
  http::url::Handle url = http::url::Parse(text);
  std::optional<std::string> scheme =
      url ? http::url::Part(url.get(), CURLUPART_SCHEME) : std::nullopt;
  std::optional<std::string> host = url ? http::url::Part(url.get(), CURLUPART_HOST) : std::nullopt;
  bool ok =
      scheme && host && (*scheme == "https" || (*scheme == "http" && http::IsLoopbackHost(*host)));
  if (!ok) {
    diagnostics.AddError(
        "Invalid Service URL",
        absl::StrCat("`", path.ToString(),
                     "` must be an absolute https:// URL such as https://api.bitbucket.org "
                     "(plain http:// only for a loopback address such as 127.0.0.1)."),
        path);
  }
}

class ArnicaProvider final : public tf::Provider {
 public:
  ArnicaProvider() {
    AddResource(NewBitbucketGroupMembership());
    AddResource(NewBitbucketGroupMemberships());
    AddDataSource(NewBitbucketWorkspaces());
    AddDataSource(NewBitbucketUser());
    AddResource(NewBitbucketCredential());
    AddResource(NewBitbucketIntegration());
    AddFunction(NewRequiredScopesFunction());
  }

  tf::Schema GetSchema() const override {
    tf::Schema schema;
    schema.block
        .Describe(
            "Onboards Bitbucket Cloud workspaces into Arnica: the service account's group "
            "memberships, its scoped API token, and Arnica's Bitbucket Cloud integration.")
        .Add(Attribute::Optional("request_timeout", Type::Number())
                 .Describe("Seconds one HTTP request may take. Default 30."))
        .Add(Attribute::Optional("max_concurrency", Type::Number())
                 .Describe("Requests in flight per service host. Default 4."))
        .Add(Attribute::Optional("ca_bundle_file", Type::String())
                 .Describe("PEM file of CAs to trust instead of the system's (for a proxy or "
                           "a private CA; verification cannot be turned off). Environment: "
                           "`ARNICA_CA_BUNDLE_FILE`."))
        .AddBlock("bitbucket", SettingsBlock(kBitbucket, "Bitbucket Cloud. One credential kind."),
                  tf::Nesting::kSingle)
        .AddBlock("atlassian_admin",
                  SettingsBlock(kAtlassianAdmin,
                                "Atlassian Admin API, for workspaces administered in "
                                "admin.atlassian.com (their groups change only there)."),
                  tf::Nesting::kSingle)
        .AddBlock("arnica", SettingsBlock(kArnica, "Arnica's API."), tf::Nesting::kSingle);
    return schema;
  }

  void ValidateConfig(const Value& config, tf::Diagnostics& diagnostics) const override {
    for (const char* block : {"bitbucket", "atlassian_admin", "arnica"}) {
      Value settings = config.GetAttr(block);
      if (!settings.is_known_non_null()) continue;
      for (const char* name : {"base_url", "oauth_token_url"}) {
        if (!settings.type().attributes().count(name)) continue;
        CheckServiceUrl(settings.GetAttr(name), AttributePath::Root(block).Attr(name), diagnostics);
      }
    }
    for (const char* name : {"request_timeout", "max_concurrency"}) {
      Value value = config.GetAttr(name);
      if (!value.is_known_non_null()) continue;
      std::optional<int64_t> number = value.AsNumber().ToInt64();
      if (!number || *number < 1 || *number > 3600) {
        diagnostics.AddError("Invalid Provider Setting",
                             absl::StrCat("`", name, "` must be a whole number from 1 to 3600."),
                             AttributePath::Root(name));
      }
    }
  }

  void Configure(const tf::ConfigureRequest& request, tf::ConfigureResponse& response) override {
    const Value& config = request.config;
    auto services = std::make_shared<Services>();
    http::ClientOptions options = HttpOptions(config);
    services->max_concurrency = options.max_concurrency_per_host;
    services->http = std::make_shared<http::Client>(std::move(options));
    ConfigureBitbucket(config, *services);
    ConfigureAdmin(config, *services);
    ConfigureArnica(config, *services);
    if (services->arnica) CheckArnicaToken(*services->arnica, response.diagnostics);
    response.provider_data = services;
  }

 private:
  static int64_t NumberOr(const Value& config, const char* name, int64_t fallback) {
    Value value = config.GetAttr(name);
    if (!value.is_known_non_null()) return fallback;
    return value.AsNumber().ToInt64().value_or(fallback);
  }

  static http::ClientOptions HttpOptions(const Value& config) {
    http::ClientOptions options;
    options.request_timeout =
        std::chrono::seconds(NumberOr(config, "request_timeout", kDefaultTimeoutSeconds));
    options.max_concurrency_per_host =
        static_cast<int>(NumberOr(config, "max_concurrency", kDefaultConcurrency));
    Value ca = config.GetAttr("ca_bundle_file");
    if (ca.is_known_non_null() && !ca.AsString().empty()) {
      options.ca_bundle = ca.AsString();
    } else if (const char* env = std::getenv("ARNICA_CA_BUNDLE_FILE"); env && *env) {
      options.ca_bundle = env;
    }
    options.on_attempt = [](const nlohmann::json& fields) {
      plugin::Log::Trace("HTTP request", fields);
    };
    return options;
  }

  static void ConfigureBitbucket(const Value& config, Services& services) {
    Settings settings = ReadSettings(config, "bitbucket", kBitbucket);
    Value block = config.GetAttr("bitbucket");
    if (!block.is_unknown() && (block.is_null() || !block.GetAttr("base_url").is_unknown())) {
      services.bitbucket_base_url = settings.Get("base_url", clients::kBitbucketApiUrl);
    }
    if (settings.unknown) {
      services.bitbucket_missing = UnknownUntilApply(*settings.unknown);
      return;
    }
    auto credential = BitbucketCredentialFrom(settings);
    if (auto* missing = std::get_if<Missing>(&credential)) {
      services.bitbucket_missing = *missing;
      return;
    }
    services.bitbucket = std::make_unique<clients::BitbucketClient>(
        services.http, clients::BitbucketOptions{
                           .base_url = settings.Get("base_url", clients::kBitbucketApiUrl),
                           .credential = std::get<clients::BitbucketCredential>(credential)});
  }

  static void ConfigureAdmin(const Value& config, Services& services) {
    Settings settings = ReadSettings(config, "atlassian_admin", kAtlassianAdmin);
    if (settings.unknown) {
      services.admin_missing = UnknownUntilApply(*settings.unknown);
      return;
    }
    if (!settings.Has("org_id") || !settings.Has("api_key")) {
      services.admin_missing = Missing{
          "Atlassian Admin API Not Configured",
          "This workspace is administered in admin.atlassian.com, where Bitbucket's group API is "
          "read-only. Configure the `atlassian_admin` block with `org_id` and `api_key` (an "
          "organization API key), or set ATLASSIAN_ADMIN_ORG_ID and ATLASSIAN_ADMIN_API_KEY.",
          AttributePath::Root("atlassian_admin")};
      return;
    }
    services.admin = std::make_unique<clients::AtlassianAdminClient>(
        services.http, clients::AtlassianAdminOptions{
                           .base_url = settings.Get("base_url", clients::kAtlassianAdminApiUrl),
                           .org_id = settings.Get("org_id"),
                           .api_key = settings.Get("api_key")});
  }

  // Arnica answers 403 for a wrong, expired or revoked key (never 401), so a 403 here means the
  // key, and the diagnostic says so instead of leaving it to the first resource that fails.
  static void CheckArnicaToken(clients::ArnicaClient& arnica, tf::Diagnostics& diagnostics) {
    absl::StatusOr<clients::ArnicaTokenInfo> info = arnica.CheckToken();
    if (info.ok()) {
      plugin::Log::Debug("Arnica accepted the API token",
                         {{"arnica_org_id", info->org_id}, {"key_id", info->key_id}});
      return;
    }
    std::optional<http::ServiceError> error = http::ServiceErrorOf(info.status());
    if (error && (error->status == 403 || error->status == 401)) {
      diagnostics.AddError(
          "Arnica Refused the API Token",
          absl::StrCat("Arnica answered HTTP ", error->status,
                       " to GET /v1/auth/token, the check any valid key passes: the "
                       "key in `arnica.api_token` (or ARNICA_API_TOKEN) is wrong, expired or "
                       "revoked. Create a key in Arnica under Admin, API, with the scopes "
                       "integrations:read, integrations:write and inventory:read, and set it."),
          AttributePath::Root("arnica").Attr("api_token"));
      return;
    }
    AddServiceError(diagnostics, "Checking the Arnica API Token Failed", info.status(),
                    AttributePath::Root("arnica").Attr("base_url"));
  }

  static void ConfigureArnica(const Value& config, Services& services) {
    Settings settings = ReadSettings(config, "arnica", kArnica);
    if (settings.unknown) {
      services.arnica_missing = UnknownUntilApply(*settings.unknown);
      return;
    }
    if (!settings.Has("api_token")) {
      services.arnica_missing =
          Missing{"Arnica API Token Missing",
                  "Configure the `arnica` block's `api_token`, or set ARNICA_API_TOKEN.",
                  AttributePath::Root("arnica")};
      return;
    }
    services.arnica = std::make_unique<clients::ArnicaClient>(
        services.http,
        clients::ArnicaOptions{
            .base_url = settings.Get("base_url", clients::arnica_paths::kDefaultBaseUrl),
            .api_token = settings.Get("api_token")});
  }
};

}  // namespace

std::shared_ptr<tf::Provider> NewArnicaProvider() { return std::make_shared<ArnicaProvider>(); }

}  // namespace arnica::resources
