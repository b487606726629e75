// Arnica's public API as far as the provider uses it (the token check and the repository
// inventory), and our model of Arnica's Bitbucket Cloud integration endpoints, whose paths live
// in provider/clients/arnica_paths.h.
//
// Sources: ../shared/reference/arnica.md §3.1 (Bearer keys, 403 for bad keys and missing scopes,
// the error body, GET /v1/auth/token). Modelled, and said so in docs/emulators.md: the shape of
// the inventory response (the endpoint is public, its schema is not in our sources) and every
// integration endpoint (Arnica publishes none). Registering or re-reading an integration
// validates its credential against the Bitbucket emulator over HTTP, the way the product's
// "Validate" step would: GET /2.0/user, then every page of GET /2.0/user/workspaces. Registering,
// rotating and syncing then ingest: every page of GET /2.0/repositories/{workspace} for each
// covered workspace replaces that workspace's part of the tenant's inventory.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "provider/clients/arnica_paths.h"
#include "tests/emulators/emulator.h"

namespace arnica::emulators {
namespace {

using nlohmann::json;
namespace paths = clients::arnica_paths;

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 500;
// Validation and ingestion give up on a listing longer than this many pages.
constexpr int kMaxPages = 50;
constexpr int kConnectSeconds = 5;
constexpr int kReadSeconds = 30;
constexpr char kScmType[] = "bitbucket-cloud";
constexpr char kReadScope[] = "integrations:read";
constexpr char kWriteScope[] = "integrations:write";
constexpr char kInventoryScope[] = "inventory:read";

// "errid_" and 24 hex digits: a per-process random part, then a counter, so no two errors of
// one run share an id.
std::string NewErrorId() {
  static const std::uint64_t salt = std::random_device{}() * 0x9e3779b97f4a7c15ULL;
  static std::atomic<std::uint32_t> counter{0};
  return absl::StrCat("errid_", absl::Hex(salt, absl::kZeroPad16),
                      absl::Hex(++counter, absl::kZeroPad8));
}

// The reason phrase that goes in the error body's `error` field.
const char* ReasonOf(int status) {
  static constexpr std::pair<int, const char*> kReasons[] = {
      {400, "Bad Request"},        {403, "Forbidden"},           {404, "Not Found"},
      {405, "Method Not Allowed"}, {429, "Too Many Requests"},   {500, "Internal Server Error"},
      {502, "Bad Gateway"},        {503, "Service Unavailable"}, {504, "Gateway Timeout"}};
  for (const auto& [known, reason] : kReasons) {
    if (known == status) return reason;
  }
  return status >= 500 ? "Internal Server Error" : "Error";
}

void Error(Call& call, int status, const std::string& message) {
  call.Json(status, {{"ui", true},
                     {"message", message},
                     {"error", ReasonOf(status)},
                     {"statusCode", status},
                     {"id", NewErrorId()}});
}

std::string BearerToken(const Call& call) {
  auto header = call.RequestHeader("Authorization");
  if (!header) return "";
  std::vector<std::string> parts = absl::StrSplit(*header, absl::MaxSplits(' ', 1));
  return parts.size() == 2 && absl::EqualsIgnoreCase(parts[0], "Bearer") ? parts[1] : "";
}

const ArnicaToken* FindToken(const Tenant& tenant, const std::string& token) {
  for (const auto& candidate : tenant.tokens) {
    if (candidate.token == token) return &candidate;
  }
  return nullptr;
}

struct Caller {
  Tenant* tenant = nullptr;
  std::string token;
};

// Authenticates the caller and checks `scope` ("" for none). Arnica answers 403, never 401, for
// a missing, unknown or revoked key and for a missing scope.
std::optional<Caller> Authorize(Call& call, const char* scope) {
  std::string token = BearerToken(call);
  Tenant* tenant = token.empty() ? nullptr : call.world.FindTenantByToken(token);
  const ArnicaToken* key = tenant == nullptr ? nullptr : FindToken(*tenant, token);
  if (key == nullptr || key->revoked) {
    Error(call, 403,
          token.empty() ? "Missing API key (Authorization: Bearer <key>)"
                        : "Invalid or expired API key");
    return std::nullopt;
  }
  call.credential = "arnica:" + key->key_id;
  if (*scope != '\0' &&
      std::find(key->scopes.begin(), key->scopes.end(), scope) == key->scopes.end()) {
    Error(call, 403, absl::StrCat("The API key lacks the required scope ", scope));
    return std::nullopt;
  }
  return Caller{tenant, token};
}

// The caller's tenant again after the world lock was released: the world may have been
// replaced or the key revoked meanwhile. Answers 403 and returns null when it is gone.
Tenant* Reauthorize(Call& call, const std::string& token) {
  Tenant* tenant = call.world.FindTenantByToken(token);
  const ArnicaToken* key = tenant == nullptr ? nullptr : FindToken(*tenant, token);
  if (key != nullptr && !key->revoked) return tenant;
  Error(call, 403, "Invalid or expired API key");
  return nullptr;
}

// --- Inventory (public endpoint; the response shape is our model) --------------------------

// Reads an integer query parameter in [low, high]; answers 400 naming it otherwise.
std::optional<int> IntQuery(Call& call, const char* name, int fallback, int low, int high) {
  auto text = call.Query(name);
  if (!text) return fallback;
  int value = 0;
  if (!absl::SimpleAtoi(*text, &value) || value < low || value > high) {
    Error(call, 400, absl::StrCat(name, " must be an integer from ", low, " to ", high));
    return std::nullopt;
  }
  return value;
}

json RepoJson(const InventoryRepo& repo) {
  std::string full_name = repo.workspace + "/" + repo.name;
  return {{"id", repo.id},          {"name", repo.name},
          {"fullName", full_name},  {"url", "https://bitbucket.org/" + full_name},
          {"scmType", kScmType},    {"organization", repo.workspace},
          {"project", repo.project}};
}

void AuthToken(Call& call) {
  auto caller = Authorize(call, "");
  if (!caller) return;
  const ArnicaToken* key = FindToken(*caller->tenant, caller->token);
  call.Json(200, {{"arnicaOrgId", caller->tenant->org_id}, {"keyId", key->key_id}});
}

void InventoryRepos(Call& call) {
  auto caller = Authorize(call, kInventoryScope);
  if (!caller) return;
  auto offset = IntQuery(call, "offset", 0, 0, std::numeric_limits<int>::max());
  if (!offset) return;
  auto limit = IntQuery(call, "limit", kDefaultLimit, 1, kMaxLimit);
  if (!limit) return;
  const auto& inventory = caller->tenant->inventory;
  json repos = json::array();
  for (std::size_t i = *offset; i < inventory.size() && repos.size() < std::size_t(*limit); ++i) {
    repos.push_back(RepoJson(inventory[i]));
  }
  call.Json(
      200, {{"repos", repos}, {"total", inventory.size()}, {"offset", *offset}, {"limit", *limit}});
}

// --- Validating a credential against the Bitbucket emulator --------------------------------

// One covered workspace's repositories as ingestion found them. A listing that failed (`ok`
// false) leaves the workspace's inventory as the last good scan left it.
struct Scan {
  std::string workspace;
  bool ok = false;
  std::vector<InventoryRepo> repos;
};

struct Validation {
  bool ok = false;
  // Bitbucket did not give a verdict (no answer, 429, 5xx, a body that is not the API's): the
  // credential is neither good nor bad, and Arnica says so with a 502 instead of a 400.
  bool outage = false;
  std::string message;  // why not: the error's message and an invalid integration's reason
  std::vector<std::string> workspaces;
  std::vector<Scan> scans;  // one per covered workspace when ingestion was asked for
};

Validation Rejected(const std::string& why) {
  return {false, false, "Bitbucket rejected the credential: " + why, {}, {}};
}

Validation Unreachable(const std::string& why) {
  return {
      false, true, "Arnica could not validate the credential, Bitbucket failed: " + why, {}, {}};
}

Validation RejectedBy(const httplib::Result& result) {
  if (!result) return Unreachable("no answer (" + httplib::to_string(result.error()) + ")");
  json body = json::parse(result->body, nullptr, false);
  std::string message;
  if (body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].contains("message") && body["error"]["message"].is_string()) {
    message = body["error"]["message"].get<std::string>();
  }
  std::string said = absl::StrCat("HTTP ", result->status, message.empty() ? "" : ": ", message);
  if (result->status == 429 || result->status >= 500) return Unreachable(said);
  return Rejected(said);
}

// The error a failed validation answers: 400 for a credential Bitbucket refused, 502 when
// Bitbucket gave no verdict.
void ValidationError(Call& call, const Validation& validation) {
  Error(call, validation.outage ? 502 : 400, validation.message);
}

// Follows a paginated 2.0 list from `next` (`what` names it in messages), handing every item of
// every page to `take`. Answers ok, or why not as a validation failure. A `next` link that
// leaves the Bitbucket emulator is refused, never followed.
template <class Take>
Validation FollowPages(httplib::Client& client, const std::string& base_url, std::string next,
                       const char* what, Take take) {
  for (int page = 0; !next.empty(); ++page) {
    if (page == kMaxPages) return Rejected(absl::StrCat("the ", what, " does not end"));
    auto result = client.Get(next);
    if (!result || result->status != 200) return RejectedBy(result);
    json body = json::parse(result->body, nullptr, false);
    if (!body.is_object() || !body.contains("values") || !body["values"].is_array()) {
      return Unreachable(
          absl::StrCat("HTTP 200 with a ", what, " that is not a paginated JSON object"));
    }
    for (const auto& item : body["values"]) take(item);
    next = body.contains("next") && body["next"].is_string() ? body["next"] : "";
    if (next.empty()) break;
    if (!absl::StartsWith(next, base_url + "/")) return Rejected("a next link outside Bitbucket");
    next.erase(0, base_url.size());
  }
  return {.ok = true};
}

std::string StringAt(const json& item, const char* pointer) {
  const json::json_pointer at(pointer);
  return item.contains(at) && item[at].is_string() ? item[at].get<std::string>() : "";
}

// GET /2.0/user/workspaces, every page: the slugs of the workspaces the credential covers.
Validation ListWorkspaces(httplib::Client& client, const std::string& base_url) {
  std::vector<std::string> slugs;
  auto take = [&](const json& access) {
    std::string slug = StringAt(access, "/workspace/slug");
    if (!slug.empty()) slugs.push_back(slug);
  };
  Validation validation =
      FollowPages(client, base_url, "/2.0/user/workspaces", "workspace listing", take);
  if (validation.ok) validation.workspaces = std::move(slugs);
  return validation;
}

// GET /2.0/repositories/{workspace}, every page, as inventory entries: the repository's uuid is
// the entry's id, its slug the name, its project's key the project. Items without a uuid or a
// slug are skipped, as the workspace listing skips items without a slug, and so is a uuid seen
// before (pages shift when a repository is added while they are read): inventory ids are unique.
Scan ScanRepositories(httplib::Client& client, const std::string& base_url,
                      const std::string& workspace) {
  Scan scan{.workspace = workspace};
  std::set<std::string> seen;
  auto take = [&](const json& item) {
    InventoryRepo repo{.id = StringAt(item, "/uuid"),
                       .workspace = workspace,
                       .project = StringAt(item, "/project/key"),
                       .name = StringAt(item, "/slug")};
    if (repo.id.empty() || repo.name.empty() || !seen.insert(repo.id).second) return;
    scan.repos.push_back(std::move(repo));
  };
  std::string path = "/2.0/repositories/" + workspace;
  scan.ok = FollowPages(client, base_url, path, "repository listing", take).ok;
  return scan;
}

// What to do once the credential is known to be good.
enum class Then { kValidateOnly, kIngest };

// Must run without the world lock: the Bitbucket emulator takes it to answer.
Validation AskBitbucket(const Emulators& emulators, const std::string& principal,
                        const std::string& secret, Then then) {
  std::string base_url = emulators.url(Service::kBitbucket);
  httplib::Client client(base_url);
  if (!emulators.ca_file().empty()) {
    client.set_ca_cert_path(emulators.ca_file());
    client.enable_server_certificate_verification(true);
  }
  client.set_connection_timeout(kConnectSeconds);
  client.set_read_timeout(kReadSeconds);
  client.set_basic_auth(principal, secret);
  auto user = client.Get("/2.0/user");
  if (!user || user->status != 200) return RejectedBy(user);
  Validation validation = ListWorkspaces(client, base_url);
  if (!validation.ok || then != Then::kIngest) return validation;
  for (const std::string& workspace : validation.workspaces) {
    validation.scans.push_back(ScanRepositories(client, base_url, workspace));
  }
  return validation;
}

// Releases the world lock while asking Bitbucket (and, for kIngest, scanning the covered
// workspaces' repositories) and takes it again before returning.
Validation Validate(Call& call, const std::string& principal, const std::string& secret,
                    Then then) {
  call.lock.unlock();
  Validation validation = AskBitbucket(call.emulators, principal, secret, then);
  call.lock.lock();
  return validation;
}

// Replaces each scanned workspace's entries in the inventory with what the scan found, where the
// old entries were (so a scan that finds the same repositories changes nothing). A failed scan
// keeps the entries: Arnica keeps the last good scan. An entry of another workspace with a found
// id goes too: that repository has moved.
void Ingest(Tenant& tenant, const std::vector<Scan>& scans) {
  for (const Scan& scan : scans) {
    if (!scan.ok) continue;
    std::set<std::string> found;
    for (const InventoryRepo& repo : scan.repos) found.insert(repo.id);
    std::vector<InventoryRepo> kept;
    bool placed = false;
    for (InventoryRepo& repo : tenant.inventory) {
      if (repo.workspace == scan.workspace && !placed) {
        kept.insert(kept.end(), scan.repos.begin(), scan.repos.end());
        placed = true;
      }
      if (repo.workspace != scan.workspace && !found.count(repo.id)) kept.push_back(repo);
    }
    if (!placed) kept.insert(kept.end(), scan.repos.begin(), scan.repos.end());
    tenant.inventory = std::move(kept);
  }
}

// --- Integrations (modelled) ---------------------------------------------------------------

// Eight stars and the last four characters; only stars when the secret is too short for four
// characters to be harmless.
std::string Masked(const std::string& secret) {
  constexpr std::size_t kShortest = 12;
  std::string stars = "********";
  return secret.size() < kShortest ? stars : stars + secret.substr(secret.size() - 4);
}

json IntegrationJson(const Integration& integration) {
  json out = {{"id", integration.id},
              {"name", integration.name},
              {"principal", integration.principal},
              {"secret", Masked(integration.secret)},
              {"status", integration.status},
              {"scmType", kScmType},
              {"workspaces", integration.workspaces}};
  if (!integration.reason.empty()) out["reason"] = integration.reason;
  return out;
}

Integration* FindIntegration(Call& call, Tenant& tenant, const std::string& id) {
  for (auto& integration : tenant.integrations) {
    if (integration.id == id) return &integration;
  }
  Error(call, 404, "No Bitbucket Cloud integration " + id);
  return nullptr;
}

// Reads a JSON object body with a non-empty string in each of `fields`; answers 400 naming the
// first missing field.
std::optional<json> ReadBody(Call& call, std::initializer_list<const char*> fields) {
  json body = json::parse(call.request.body, nullptr, false);
  if (!body.is_object()) {
    Error(call, 400, "The body must be a JSON object");
    return std::nullopt;
  }
  for (const char* field : fields) {
    auto it = body.find(field);
    if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
      Error(call, 400, absl::StrCat("\"", field, "\" is required and must be a non-empty string"));
      return std::nullopt;
    }
  }
  return body;
}

void ListIntegrations(Call& call) {
  auto caller = Authorize(call, kReadScope);
  if (!caller) return;
  json out = json::array();
  for (const auto& integration : caller->tenant->integrations) {
    out.push_back(IntegrationJson(integration));
  }
  call.Json(200, {{"integrations", out}});
}

void CreateIntegration(Call& call) {
  auto caller = Authorize(call, kWriteScope);
  if (!caller) return;
  auto body = ReadBody(call, {"name", "principal", "secret"});
  if (!body) return;
  Integration integration{.name = (*body)["name"],
                          .principal = (*body)["principal"],
                          .secret = (*body)["secret"],
                          .status = "connected"};
  Validation validation = Validate(call, integration.principal, integration.secret, Then::kIngest);
  Tenant* tenant = Reauthorize(call, caller->token);
  if (tenant == nullptr) return;
  if (!validation.ok) return ValidationError(call, validation);
  integration.id = call.world.NewId("int");
  integration.workspaces = validation.workspaces;
  tenant->integrations.push_back(integration);
  Ingest(*tenant, validation.scans);
  call.Json(201, IntegrationJson(integration));
}

// What re-validating a stored credential left: the integration as it now is (null when it or
// the caller's key went meanwhile; the error is then answered) and the outcome, recorded unless
// the integration was rotated meanwhile (the newer outcome stands) or Bitbucket gave no verdict
// (the last known status stays).
struct Revalidation {
  Tenant* tenant = nullptr;
  Integration* integration = nullptr;
  Validation validation;
  bool rotated = false;
};

Revalidation Revalidate(Call& call, const Caller& caller, Then then) {
  const std::string& id = call.captures[0];
  Integration* integration = FindIntegration(call, *caller.tenant, id);
  if (integration == nullptr) return {};
  std::string principal = integration->principal, secret = integration->secret;
  Revalidation out{.validation = Validate(call, principal, secret, then)};
  out.tenant = Reauthorize(call, caller.token);
  if (out.tenant == nullptr) return {};
  out.integration = FindIntegration(call, *out.tenant, id);
  if (out.integration == nullptr) return {};
  const Validation& validation = out.validation;
  out.rotated = out.integration->secret != secret;
  if (!out.rotated && !validation.outage) {
    out.integration->status = validation.ok ? "connected" : "invalid";
    out.integration->reason = validation.ok ? "" : validation.message;
    out.integration->workspaces = validation.workspaces;
  }
  return out;
}

// Re-validates the stored credential and records the outcome, as the product's status shows.
// Reading never ingests: only registering, rotating and syncing scan repositories.
void ReadIntegration(Call& call) {
  auto caller = Authorize(call, kReadScope);
  if (!caller) return;
  Revalidation read = Revalidate(call, *caller, Then::kValidateOnly);
  if (read.integration != nullptr) call.Json(200, IntegrationJson(*read.integration));
}

// Re-runs ingestion on demand, as the product's Jobs page does; modelled as finishing before it
// answers. The stored credential is validated first, as a read does, and a failure answers as
// registering would. After a rotation meanwhile, the rotation (which ingested with the new
// credential) stands and the integration is answered as it left it.
void SyncIntegration(Call& call) {
  auto caller = Authorize(call, kWriteScope);
  if (!caller) return;
  Revalidation sync = Revalidate(call, *caller, Then::kIngest);
  if (sync.integration == nullptr) return;
  if (!sync.rotated) {
    if (!sync.validation.ok) return ValidationError(call, sync.validation);
    Ingest(*sync.tenant, sync.validation.scans);
  }
  call.Json(200, IntegrationJson(*sync.integration));
}

// The new credential must validate before it replaces the old one, which a failure keeps.
void RotateCredentials(Call& call) {
  auto caller = Authorize(call, kWriteScope);
  if (!caller) return;
  const std::string& id = call.captures[0];
  if (FindIntegration(call, *caller->tenant, id) == nullptr) return;
  auto body = ReadBody(call, {"principal", "secret"});
  if (!body) return;
  std::string principal = (*body)["principal"], secret = (*body)["secret"];
  Validation validation = Validate(call, principal, secret, Then::kIngest);
  Tenant* tenant = Reauthorize(call, caller->token);
  Integration* integration = nullptr;
  if (tenant == nullptr || (integration = FindIntegration(call, *tenant, id)) == nullptr) return;
  if (!validation.ok) return ValidationError(call, validation);
  integration->principal = principal;
  integration->secret = secret;
  integration->status = "connected";
  integration->reason = "";
  integration->workspaces = validation.workspaces;
  Ingest(*tenant, validation.scans);
  call.Json(200, IntegrationJson(*integration));
}

void DeleteIntegration(Call& call) {
  auto caller = Authorize(call, kWriteScope);
  if (!caller) return;
  const std::string& id = call.captures[0];
  if (FindIntegration(call, *caller->tenant, id) == nullptr) return;
  std::erase_if(caller->tenant->integrations, [&](const auto& i) { return i.id == id; });
  call.response.status = 204;
}

// The constants are literal paths; escape them for use in a pattern.
std::string Literal(const char* path) {
  std::string out;
  for (const char* c = path; *c != '\0'; ++c) {
    if (std::string_view("\\^$.|?*+()[]{}").find(*c) != std::string_view::npos) out += '\\';
    out += *c;
  }
  return out;
}

}  // namespace

void AddArnicaRoutes(Router& router) {
  router.error = Error;
  std::string integrations = Literal(paths::kBitbucketIntegrations);
  std::string one = integrations + "/([^/]+)";
  router.Add("GET", Literal(paths::kAuthToken), AuthToken);
  router.Add("GET", Literal(paths::kInventoryRepos), InventoryRepos);
  router.Add("GET", integrations, ListIntegrations);
  router.Add("POST", integrations, CreateIntegration);
  router.Add("GET", one, ReadIntegration);
  router.Add("DELETE", one, DeleteIntegration);
  router.Add("PUT", one + Literal(paths::kCredentialsSuffix), RotateCredentials);
  router.Add("POST", one + Literal(paths::kSyncSuffix), SyncIntegration);
}

}  // namespace arnica::emulators
