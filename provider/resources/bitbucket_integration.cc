#include "provider/resources/bitbucket_integration.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "provider/clients/arnica.h"
#include "provider/clients/ip_allowlist.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/plugin/log.h"
#include "provider/resources/credential_check.h"
#include "provider/resources/group_members.h"
#include "provider/resources/scopes.h"
#include "provider/resources/services.h"

namespace arnica::resources {
namespace {

using clients::ArnicaClient;
using clients::ArnicaIntegration;
using tf::Attribute;
using tf::AttributePath;
using tf::Type;
using tf::Value;

constexpr char kConnected[] = "connected";
constexpr char kScmType[] = "bitbucket-cloud";
// Registration is a POST, which the HTTP client repeats only after a 429. This resource sends it
// again after a 502 or 503 (Arnica did not act), once it has checked that Arnica holds nothing
// under the name; after a timeout it only looks, this many times.
constexpr int kRegisterAttempts = 3;
constexpr std::chrono::seconds kRegisterPause{1};

// What is wrong with a workspace slug, if anything. Bitbucket's workspace ids are lower-case
// letters, digits, '-', '_' and '.'; the check is only that strict, so that a typo or a display
// name fails at plan instead of as a workspace Arnica never covers.
std::optional<std::string> SlugProblem(const std::string& slug) {
  if (slug.empty()) return "an empty element";
  bool upper = false, other = false;
  for (char c : slug) {
    upper |= absl::ascii_isupper(c);
    other |= !(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '_' ||
               c == '.' || absl::ascii_isupper(c));
  }
  if (other) return absl::StrCat("\"", slug, "\", which is not a workspace slug (a display name?)");
  if (upper) {
    return absl::StrCat("\"", slug, "\": workspace slugs are lower-case; did you mean \"",
                        absl::AsciiStrToLower(slug), "\"?");
  }
  return std::nullopt;
}

// What a refresh learns besides Arnica's own record: which workspaces Arnica covers, and which
// of the expected ones lack coverage, either because the integration does not reach them or
// because Arnica's inventory holds none of their repositories.
struct Coverage {
  std::vector<std::string> covered;    // sorted
  std::vector<std::string> uncovered;  // sorted
  std::set<std::string> unreached;     // the uncovered ones the integration does not reach
};

// `expected`: the configured workspaces, or nullopt for "every workspace Arnica covers".
absl::StatusOr<Coverage> CoverageOf(ArnicaClient& arnica, const ArnicaIntegration& integration,
                                    const std::optional<std::vector<std::string>>& expected,
                                    std::stop_token stop) {
  Coverage coverage;
  std::set<std::string> covered(integration.workspaces.begin(), integration.workspaces.end());
  coverage.covered.assign(covered.begin(), covered.end());
  std::set<std::string> wanted =
      expected ? std::set<std::string>(expected->begin(), expected->end()) : covered;
  if (wanted.empty()) return coverage;
  absl::StatusOr<std::vector<clients::InventoryRepo>> repos = arnica.ListInventoryRepos(stop);
  if (!repos.ok()) return repos.status();
  std::set<std::string> inventoried;
  for (const clients::InventoryRepo& repo : *repos) {
    if (repo.scm_type == kScmType) inventoried.insert(repo.organization);
  }
  for (const std::string& workspace : wanted) {
    if (!covered.contains(workspace)) coverage.unreached.insert(workspace);
    if (!covered.contains(workspace) || !inventoried.contains(workspace)) {
      coverage.uncovered.push_back(workspace);
    }
  }
  return coverage;
}

// Whether a plan hands Arnica a new token: a new `secret_wo_version`, or a changed `secret`. (The
// write-only value itself is never in state or plan to compare.)
bool NewToken(const Value& prior, const Value& planned) {
  return !(prior.GetAttr("secret_wo_version") == planned.GetAttr("secret_wo_version")) ||
         !(prior.GetAttr("secret") == planned.GetAttr("secret"));
}

// The coverage a state recorded.
Coverage CoverageFrom(const Value& state) {
  Coverage coverage{.covered = KnownStrings(state.GetAttr("covered_workspaces")),
                    .uncovered = KnownStrings(state.GetAttr("uncovered_workspaces"))};
  for (const std::string& workspace : coverage.uncovered) {
    if (!std::binary_search(coverage.covered.begin(), coverage.covered.end(), workspace)) {
      coverage.unreached.insert(workspace);
    }
  }
  return coverage;
}

std::optional<std::vector<std::string>> ExpectedWorkspaces(const Value& state) {
  Value workspaces = state.GetAttr("workspaces");
  if (workspaces.is_null()) return std::nullopt;
  return KnownStrings(workspaces);
}

// Arnica's record in a state. `name` and `principal` are taken from Arnica only when they differ
// from the state's beyond letter case (a change made in Arnica, which the plan then reverts):
// Arnica may spell an e-mail address its own way, and apply must return what was planned.
Value WithIntegration(Value state, const ArnicaIntegration& integration, const Coverage& coverage) {
  for (const auto& [name, value] :
       {std::pair{"name", &integration.name}, std::pair{"principal", &integration.principal}}) {
    Value known = state.GetAttr(name);
    if (!known.is_known_non_null() || !absl::EqualsIgnoreCase(known.AsString(), *value)) {
      state = state.WithAttr(name, Value::String(*value));
    }
  }
  return state.WithAttr("id", Value::String(integration.id))
      .WithAttr("status", Value::String(integration.status))
      .WithAttr("status_reason", integration.reason.empty() ? Value::Null(Type::String())
                                                            : Value::String(integration.reason))
      .WithAttr("covered_workspaces", StringSetValue(coverage.covered))
      .WithAttr("uncovered_workspaces", StringSetValue(coverage.uncovered));
}

// Why one expected workspace lacks coverage, and what to do.
std::string UncoveredReason(const std::string& workspace, const Coverage& coverage,
                            bool after_ingestion) {
  if (coverage.unreached.contains(workspace)) {
    return absl::StrCat("`", workspace,
                        "`: Arnica's integration does not reach it. The service account must be "
                        "a member of the workspace (and in its Administrators group). If the "
                        "workspace has an IP allowlist: ",
                        clients::IpAllowlistAdvice(workspace));
  }
  std::string reason = absl::StrCat(
      "`", workspace,
      "`: Arnica reaches it but its inventory holds none of its repositories (ingestion has not "
      "run, or failed; a workspace without repositories never has any: leave it out of "
      "`workspaces`).");
  if (!after_ingestion) return reason;
  // Ingestion reads each repository listing from Arnica's own addresses, which a workspace's
  // IP allowlist refuses unless they are on it; Arnica keeps the last good scan meanwhile.
  return absl::StrCat(reason,
                      " Ingestion ran and found none: if the workspace has an IP "
                      "allowlist, ",
                      clients::IpAllowlistAdvice(workspace));
}

// One diagnostic per uncovered workspace; `only`, when given, limits them to those workspaces.
void ReportUncovered(const Coverage& coverage, tf::Severity severity, const std::string& intro,
                     bool after_ingestion, tf::Diagnostics& diagnostics,
                     const std::optional<std::vector<std::string>>& only = std::nullopt) {
  for (const std::string& workspace : coverage.uncovered) {
    if (only && std::find(only->begin(), only->end(), workspace) == only->end()) continue;
    diagnostics.Add(
        {.severity = severity,
         .summary = absl::StrCat("Workspace Not Covered by Arnica: ", workspace),
         .detail = absl::StrCat(intro, UncoveredReason(workspace, coverage, after_ingestion)),
         .attribute = AttributePath::Root("workspaces")});
  }
}

// The integration of this name, if Arnica has one.
absl::StatusOr<std::optional<ArnicaIntegration>> FindByName(ArnicaClient& arnica,
                                                            const std::string& name,
                                                            std::stop_token stop) {
  absl::StatusOr<std::vector<ArnicaIntegration>> all = arnica.ListIntegrations(stop);
  if (!all.ok()) return all.status();
  for (ArnicaIntegration& integration : *all) {
    if (integration.name == name) return std::optional<ArnicaIntegration>(std::move(integration));
  }
  return std::nullopt;
}

void NameTaken(const ArnicaIntegration& existing, tf::Diagnostics& diagnostics) {
  diagnostics.AddError(
      "Arnica Already Has This Integration",
      absl::StrCat("Arnica already has a Bitbucket Cloud integration named `", existing.name,
                   "` (id ", existing.id, "). Import it (`tofu import <address> ", existing.id,
                   "`) to manage it here, or choose another `name`."),
      AttributePath::Root("name"));
}

// At plan the name may belong to the very integration this plan replaces (a tainted object, or
// -replace), which apply removes before it registers the new one; so only a warning, and apply
// checks again.
void NameMayBeTaken(const ArnicaIntegration& existing, tf::Diagnostics& diagnostics) {
  diagnostics.AddWarning(
      "Arnica Already Has This Integration",
      absl::StrCat("Arnica already has a Bitbucket Cloud integration named `", existing.name,
                   "` (id ", existing.id,
                   "). Unless this plan replaces that same integration, apply will fail. To "
                   "manage it here, import it (`tofu import <address> ",
                   existing.id, "`); or choose another `name`."),
      AttributePath::Root("name"));
}

// An answer that leaves open whether Arnica acted on the request.
bool Unclear(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsInternal(status) || absl::IsUnknown(status);
}

// Arnica answered, with a status that says it did not act: 502 (Bitbucket gave Arnica no
// verdict, so nothing was stored) or 503. A timeout, a reset or a 504 leaves it open, and the
// request may still be running.
bool NotActedOn(const absl::Status& status) {
  std::optional<http::ServiceError> error = http::ServiceErrorOf(status);
  return error && (error->status == 502 || error->status == 503);
}

struct Inputs {
  std::string name, principal, secret;
  const char* secret_attribute = "secret_wo";
};

std::optional<Inputs> InputsOf(const Value& config, tf::Diagnostics& diagnostics) {
  const char* attribute = SecretAttribute(config);
  Value name = config.GetAttr("name"), principal = config.GetAttr("principal");
  Value secret = config.GetAttr(attribute);
  if (!name.is_known_non_null() || !principal.is_known_non_null() || !secret.is_known_non_null()) {
    diagnostics.AddError("Integration Configuration Incomplete",
                         "At apply `name`, `principal` and the secret must be known and set.",
                         AttributePath::Root(attribute));
    return std::nullopt;
  }
  return Inputs{name.AsString(), principal.AsString(), secret.AsString(), attribute};
}

class BitbucketIntegration final : public tf::Resource {
 public:
  std::string TypeName() const override { return "arnica_bitbucket_integration"; }

  tf::Schema GetSchema() const override {
    tf::Schema schema;
    schema.block
        .Describe(
            "Arnica's Bitbucket Cloud integration, bound to the service account's API token. "
            "Arnica validates the token against Bitbucket when it is registered or rotated. "
            "Every refresh reads Arnica's status and checks, through Arnica's inventory "
            "(`GET /v1/inventory/repos`), that each expected workspace has repositories in "
            "Arnica; a lapse is drift that apply repairs. Arnica publishes no integrations API: "
            "those endpoints are modelled on the product's integration flow.")
        .Add(Attribute::Computed("id", Type::String())
                 .Describe("Arnica's id of the integration.")
                 .UseStateForUnknown())
        .Add(Attribute::Required("name", Type::String())
                 .Describe("The integration's name in Arnica. Arnica cannot rename one, so a "
                           "new name replaces it.")
                 .RequiresReplace())
        .Add(Attribute::Required("principal", Type::String())
                 .Describe("The service account's Atlassian e-mail address, which API tokens "
                           "authenticate with."))
        .Add(Attribute::Optional("secret_wo", Type::String())
                 .Describe("The service account's API token, write-only: never stored in state "
                           "or plan. Needs OpenTofu or Terraform 1.11+. Increase "
                           "`secret_wo_version` to send a rotated token. Exactly one of "
                           "`secret_wo` and `secret`.")
                 .WriteOnly()
                 .Sensitive())
        .Add(Attribute::Optional("secret_wo_version", Type::Number())
                 .Describe("Any number; change it whenever `secret_wo` changes, so that Arnica "
                           "receives the new token."))
        .Add(Attribute::Optional("secret", Type::String())
                 .Describe("The token, for hosts without write-only attributes. Sensitive, but "
                           "kept in state in plain text: prefer `secret_wo`.")
                 .Sensitive())
        .Add(Attribute::Optional("workspaces", Type::Set(Type::String()))
                 .Describe("Workspace slugs Arnica must cover: each must be reached by the "
                           "integration and have repositories in Arnica's inventory. Default: "
                           "every workspace Arnica's validation finds for the token."))
        .Add(Attribute::Computed("status", Type::String())
                 .Describe("Arnica's status of the integration: `connected`, or `invalid` when "
                           "Bitbucket refuses the token. Planned as `connected`."))
        .Add(Attribute::Computed("status_reason", Type::String())
                 .Describe("Why Arnica considers the integration invalid; null when "
                           "connected."))
        .Add(Attribute::Computed("covered_workspaces", Type::Set(Type::String()))
                 .Describe("The workspaces Arnica's integration reaches."))
        .Add(Attribute::Computed("uncovered_workspaces", Type::Set(Type::String()))
                 .Describe("Expected workspaces without coverage (not reached, or without "
                           "repositories in Arnica's inventory). Planned empty: a non-empty "
                           "value is drift, and the plan says why for each workspace."));
    return schema;
  }

  void Validate(const tf::ValidateResourceRequest& request,
                tf::Diagnostics& diagnostics) const override {
    const Value& config = request.config;
    ValidateSecretInputs(config, diagnostics, /*account_token=*/true);
    Value name = config.GetAttr("name");
    if (name.is_known_non_null() &&
        name.AsString().find_first_not_of(" \t\r\n") == std::string::npos) {
      diagnostics.AddError("Empty Integration Name",
                           "`name` must hold a name for the integration in Arnica.",
                           AttributePath::Root("name"));
    }
    Value principal = config.GetAttr("principal");
    if (principal.is_known_non_null()) {
      CheckPrincipal(kKindApiToken, principal.AsString(), diagnostics);
    }
    Value workspaces = config.GetAttr("workspaces");
    if (workspaces.is_known_non_null()) {
      for (const Value& workspace : workspaces.Elements()) {
        if (workspace.is_unknown()) continue;
        std::optional<std::string> problem =
            workspace.is_null() ? "a null element" : SlugProblem(workspace.AsString());
        if (!problem) continue;
        diagnostics.AddError("Invalid Workspace",
                             absl::StrCat("`workspaces` holds ", *problem,
                                          ". List workspace slugs, as in "
                                          "https://bitbucket.org/<slug>/."),
                             AttributePath::Root("workspaces"));
      }
    }
  }

  // The plan wants Arnica connected and every expected workspace covered. Drift found by the
  // refresh (an invalid status, a workspace without coverage) is explained here, where the plan
  // shows it.
  void ModifyPlan(const tf::Context& context, const tf::PlanRequest& request,
                  tf::PlanResponse& response) const override {
    if (request.proposed_state.is_null()) return;
    const Value& prior = request.prior_state;
    Value planned = response.planned_state.WithAttr("status", Value::String(kConnected))
                        .WithAttr("status_reason", Value::Null(Type::String()))
                        .WithAttr("uncovered_workspaces", StringSetValue({}));
    if (prior.is_null()) {
      planned = planned.WithAttr("covered_workspaces", Value::Unknown(Type::Set(Type::String())));
      response.planned_state = planned;
      CheckNameFree(context, request.config, response.diagnostics);
      return;
    }
    if (!(planned == prior)) {
      planned = planned.WithAttr("covered_workspaces", Value::Unknown(Type::Set(Type::String())));
    }
    response.planned_state = planned;
    if (Str(prior, "status") != kConnected) {
      bool rotating = NewToken(prior, planned);
      response.diagnostics.AddWarning(
          "Arnica Reports the Integration Invalid",
          absl::StrCat("Arnica's last validation failed: ", Str(prior, "status_reason"),
                       rotating ? " Apply sends the new token."
                                : " Apply sends the configured token again. If Bitbucket still "
                                  "refuses it, create a new API token for the service account, "
                                  "set it, and increase `secret_wo_version`."),
          AttributePath::Root("status"));
    }
    // Only the workspaces this plan still expects (all, when `workspaces` is unset).
    std::optional<std::vector<std::string>> expected;
    if (Value wanted = planned.GetAttr("workspaces"); !wanted.is_null()) {
      expected = KnownStrings(wanted);
    }
    ReportUncovered(CoverageFrom(prior), tf::Severity::kWarning,
                    "Apply asks Arnica to ingest the covered workspaces again. ",
                    /*after_ingestion=*/false, response.diagnostics, expected);
  }

  void Create(const tf::Context& context, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    ArnicaClient* arnica = context.Data<Services>()->RequireArnica(response.diagnostics);
    if (arnica == nullptr) return;
    std::optional<Inputs> inputs = InputsOf(request.config, response.diagnostics);
    if (!inputs) return;
    std::optional<ArnicaIntegration> registered =
        Register(*arnica, *inputs, context.stop, response.diagnostics);
    if (!registered) return;
    plugin::Log::Info("registered the Bitbucket Cloud integration in Arnica",
                      {{"id", registered->id}});
    response.new_state =
        Settle(*arnica, registered->id, request.planned_state, context.stop, response.diagnostics);
  }

  void Update(const tf::Context& context, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    ArnicaClient* arnica = context.Data<Services>()->RequireArnica(response.diagnostics);
    if (arnica == nullptr) return;
    const Value& prior = request.prior_state;
    const Value& planned = request.planned_state;
    response.new_state = prior;
    std::string id = Str(prior, "id");
    bool resend = NewToken(prior, planned) ||
                  Str(prior, "principal") != Str(planned, "principal") ||
                  Str(prior, "status") != kConnected;
    if (resend) {
      std::optional<Inputs> inputs = InputsOf(request.config, response.diagnostics);
      if (!inputs) return;
      absl::StatusOr<ArnicaIntegration> rotated =
          arnica->RotateIntegration(id, inputs->principal, inputs->secret, context.stop);
      if (!rotated.ok()) {
        RotationFailed(rotated.status(), *inputs,
                       Str(prior, "principal") != Str(planned, "principal"), response.diagnostics);
        return;
      }
      plugin::Log::Info("sent the integration's token to Arnica again", {{"id", id}});
    }
    response.new_state = Settle(*arnica, id, planned, context.stop, response.diagnostics);
    if (response.new_state.is_null()) response.new_state = prior;
  }

  // Arnica's record, re-validated by Arnica, and the coverage of the expected workspaces. An
  // integration removed in Arnica leaves the state, so the plan creates it again.
  void Read(const tf::Context& context, const tf::ReadResourceRequest& request,
            tf::ReadResourceResponse& response) const override {
    response.new_state = request.state;
    ArnicaClient* arnica = context.Data<Services>()->RequireArnica(response.diagnostics);
    if (arnica == nullptr) return;
    absl::StatusOr<std::optional<ArnicaIntegration>> found =
        arnica->GetIntegration(Str(request.state, "id"), context.stop);
    if (!found.ok()) {
      AddServiceError(response.diagnostics, "Reading the Arnica Integration Failed",
                      found.status());
      return;
    }
    if (!*found) {
      plugin::Log::Warn("the integration is gone from Arnica; the plan registers it again",
                        {{"id", Str(request.state, "id")}});
      response.new_state = Value::Null(request.state.type());
      return;
    }
    if ((*found)->status != kConnected) {
      // Arnica knows nothing about coverage while it cannot use the token; the plan shows the
      // status and its reason, and the last known coverage stays as it was.
      response.new_state = WithIntegration(request.state, **found, CoverageFrom(request.state));
      return;
    }
    absl::StatusOr<Coverage> coverage =
        CoverageOf(*arnica, **found, ExpectedWorkspaces(request.state), context.stop);
    if (!coverage.ok()) {
      AddServiceError(response.diagnostics, "Reading Arnica's Inventory Failed", coverage.status());
      return;
    }
    response.new_state = WithIntegration(request.state, **found, *coverage);
  }

  void Delete(const tf::Context& context, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    ArnicaClient* arnica = context.Data<Services>()->RequireArnica(response.diagnostics);
    if (arnica == nullptr) return;
    absl::Status removed = arnica->RemoveIntegration(Str(request.prior_state, "id"), context.stop);
    if (!removed.ok() && !absl::IsNotFound(removed)) {
      AddServiceError(response.diagnostics, "Removing the Arnica Integration Failed", removed);
    }
  }

  // By Arnica's id. The token cannot be read back: the next plan sends the configured one.
  void Import(const tf::Context& context, const tf::ImportRequest& request,
              tf::ImportResponse& response) const override {
    if (request.id.empty() || request.id.find_first_of("/ \t") != std::string::npos) {
      response.diagnostics.AddError(
          "Invalid Import ID",
          "Give the integration's id in Arnica, e.g. `tofu import <address> int-1`; it holds no "
          "slash or space.");
      return;
    }
    ArnicaClient* arnica = context.Data<Services>()->RequireArnica(response.diagnostics);
    if (arnica == nullptr) return;
    absl::StatusOr<std::optional<ArnicaIntegration>> found =
        arnica->GetIntegration(request.id, context.stop);
    if (!found.ok()) {
      AddServiceError(response.diagnostics, "Reading the Arnica Integration Failed",
                      found.status());
      return;
    }
    if (!*found) {
      response.diagnostics.AddError(
          "No Such Arnica Integration",
          absl::StrCat("Arnica has no Bitbucket Cloud integration with id \"", request.id,
                       "\". The id is in Arnica's integration page, or in the error that "
                       "refused to create a second integration of the same name."));
      return;
    }
    Value state = Value::Object(GetSchema().block.ImpliedType(), {});
    response.state = WithIntegration(state, **found, Coverage{.covered = (*found)->workspaces});
  }

 private:
  // At plan: a create that would clash with an integration Arnica already has by that name.
  static void CheckNameFree(const tf::Context& context, const Value& config,
                            tf::Diagnostics& diagnostics) {
    Value name = config.GetAttr("name");
    const Services* services = context.Data<Services>();
    if (!name.is_known_non_null() || services == nullptr || !services->arnica) return;
    absl::StatusOr<std::optional<ArnicaIntegration>> existing =
        FindByName(*services->arnica, name.AsString(), context.stop);
    if (!existing.ok()) {
      AddServiceError(diagnostics, "Listing Arnica's Integrations Failed", existing.status());
    } else if (*existing) {
      NameMayBeTaken(**existing, diagnostics);
    }
  }

  // Registers the integration. A POST that fails without saying whether Arnica acted on it is
  // followed by a look at Arnica's list: the integration is adopted when it is there, and
  // registered again when it is not, so an outage never leaves two integrations.
  static std::optional<ArnicaIntegration> Register(ArnicaClient& arnica, const Inputs& inputs,
                                                   std::stop_token stop,
                                                   tf::Diagnostics& diagnostics) {
    absl::StatusOr<std::optional<ArnicaIntegration>> existing =
        FindByName(arnica, inputs.name, stop);
    if (!existing.ok()) {
      AddServiceError(diagnostics, "Listing Arnica's Integrations Failed", existing.status());
      return std::nullopt;
    }
    if (*existing) {
      NameTaken(**existing, diagnostics);
      return std::nullopt;
    }
    absl::Status last;
    for (int attempt = 1; attempt <= kRegisterAttempts; ++attempt) {
      absl::StatusOr<ArnicaIntegration> registered =
          arnica.RegisterIntegration(inputs.name, inputs.principal, inputs.secret, stop);
      if (registered.ok()) return *std::move(registered);
      last = registered.status();
      if (!Unclear(last)) break;
      // Arnica may have registered it after all (or may still be doing so): look, a few times
      // when the outcome is open, before anything is sent again.
      int looks = NotActedOn(last) ? 1 : kRegisterAttempts;
      for (int look = 1; look <= looks; ++look) {
        existing = FindByName(arnica, inputs.name, stop);
        if (existing.ok() && *existing) {
          plugin::Log::Warn("registration answered unclearly; Arnica has it, so it is adopted",
                            {{"id", (*existing)->id}});
          return **existing;
        }
        if (!existing.ok() || look == looks || stop.stop_requested()) break;
        std::this_thread::sleep_for(kRegisterPause);
      }
      // Sending it again is safe only when Arnica said it did not act.
      if (!existing.ok() || !NotActedOn(last) || attempt == kRegisterAttempts ||
          stop.stop_requested()) {
        break;
      }
      std::this_thread::sleep_for(kRegisterPause);
    }
    if (Unclear(last) && !NotActedOn(last)) {
      diagnostics.AddError(
          "Registering the Arnica Integration Failed",
          absl::StrCat(last.message(),
                       " Arnica may still register it: nothing was sent again, so that there "
                       "are never two. Run plan: if Arnica has it, the plan names its id, and "
                       "`tofu import` takes it over."),
          AttributePath::Root("name"));
      return std::nullopt;
    }
    if (absl::IsInvalidArgument(last)) {
      diagnostics.AddError("Arnica Refused the Credential", std::string(last.message()),
                           AttributePath::Root(inputs.secret_attribute));
    } else {
      AddServiceError(diagnostics, "Registering the Arnica Integration Failed", last);
    }
    return std::nullopt;
  }

  static void RotationFailed(const absl::Status& status, const Inputs& inputs,
                             bool principal_changed, tf::Diagnostics& diagnostics) {
    if (absl::IsInvalidArgument(status)) {
      diagnostics.AddError(
          "Arnica Refused the Credential",
          absl::StrCat(status.message(), " Arnica keeps the credential it had. ",
                       principal_changed
                           ? "`principal` changed: it must be the e-mail address of the account "
                             "the token belongs to."
                           : "Give the service account's current API token and increase "
                             "`secret_wo_version`."),
          AttributePath::Root(principal_changed ? "principal" : inputs.secret_attribute));
    } else if (absl::IsNotFound(status)) {
      diagnostics.AddError("Arnica Integration Removed",
                           "The integration was removed in Arnica during this run. Run plan "
                           "again: it plans to register it anew.");
    } else {
      AddServiceError(diagnostics, "Sending the Token to Arnica Failed", status);
    }
  }

  // After a registration or rotation: Arnica's record and the coverage of the expected
  // workspaces, with one re-run of ingestion when some lack it. Returns the state to record
  // (null only when the integration vanished); any shortfall is an error next to it, so the
  // state always says what Arnica has.
  static Value Settle(ArnicaClient& arnica, const std::string& id, const Value& planned,
                      std::stop_token stop, tf::Diagnostics& diagnostics) {
    absl::StatusOr<std::optional<ArnicaIntegration>> found = arnica.GetIntegration(id, stop);
    if (!found.ok() || !*found) {
      if (!found.ok()) {
        AddServiceError(diagnostics, "Reading the Arnica Integration Failed", found.status());
      } else {
        diagnostics.AddError("Arnica Integration Removed",
                             "The integration was removed in Arnica during this run. Run plan "
                             "again: it plans to register it anew.");
      }
      return Value::Null(planned.type());
    }
    std::optional<std::vector<std::string>> expected = ExpectedWorkspaces(planned);
    absl::StatusOr<Coverage> coverage = CoverageOf(arnica, **found, expected, stop);
    bool ingested = false;
    if (coverage.ok() && !coverage->uncovered.empty() && (*found)->status == kConnected) {
      absl::StatusOr<std::optional<ArnicaIntegration>> synced = arnica.SyncIntegration(id, stop);
      if (!synced.ok()) {
        AddServiceError(diagnostics, "Arnica's Ingestion Failed", synced.status());
      } else if (*synced) {
        ingested = true;
        plugin::Log::Info("asked Arnica to ingest the covered workspaces again", {{"id", id}});
        found = std::move(synced);
        coverage = CoverageOf(arnica, **found, expected, stop);
      }
    }
    Value state = planned.WithAttr("secret_wo", Value::Null(Type::String()));
    if (!coverage.ok()) {
      AddServiceError(diagnostics, "Reading Arnica's Inventory Failed", coverage.status());
      return WithIntegration(state, **found, Coverage{.covered = (*found)->workspaces});
    }
    state = WithIntegration(state, **found, *coverage);
    if ((*found)->status != kConnected) {
      diagnostics.AddError(
          "Arnica Reports the Integration Invalid",
          absl::StrCat("Arnica's validation failed: ", (*found)->reason,
                       " Give the service account's current API token and increase "
                       "`secret_wo_version`."),
          AttributePath::Root("status"));
      return state;  // coverage means nothing while Arnica cannot use the token
    }
    ReportUncovered(*coverage, tf::Severity::kError,
                    ingested ? "Arnica re-ran ingestion and still lacks this workspace. "
                             : "Arnica lacks this workspace, and ingestion could not be re-run "
                               "(see the other error). ",
                    ingested, diagnostics);
    return state;
  }
};

}  // namespace

std::shared_ptr<const tf::Resource> NewBitbucketIntegration() {
  return std::make_shared<BitbucketIntegration>();
}

}  // namespace arnica::resources
