#include "provider/resources/bitbucket_credential.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "provider/plugin/log.h"
#include "provider/resources/credential_check.h"
#include "provider/resources/group_members.h"
#include "provider/resources/scopes.h"
#include "provider/resources/services.h"

namespace arnica::resources {
namespace {

using tf::Attribute;
using tf::AttributePath;
using tf::Type;
using tf::Value;

constexpr const char* kComputedFacts[] = {"credential_type", "granted_scopes", "account_uuid",
                                          "account_id", "fingerprint"};

Value OptionalString(const std::optional<std::string>& text) {
  return text ? Value::String(*text) : Value::Null(Type::String());
}

// The planned values of the three inputs that have defaults.
Value KindOf(const Value& config) {
  Value kind = config.GetAttr("kind");
  return kind.is_null() ? Value::String(kKindApiToken) : kind;
}

Value RequiredScopesOf(const Value& config) {
  Value required = config.GetAttr("required_scopes");
  if (!required.is_null()) return required;
  Value kind = KindOf(config);
  if (!kind.is_known_non_null()) return Value::Unknown(Type::Set(Type::String()));
  return StringSetValue(DefaultScopes(kind.AsString()));
}

Value AllowExtraOf(const Value& config) {
  Value allow = config.GetAttr("allow_extra_scopes");
  return allow.is_null() ? Value::Bool(false) : allow;
}

// Everything a verification needs, when the configuration knows all of it.
std::optional<CredentialCheck> CheckOf(const Value& config) {
  Value kind = KindOf(config);
  Value principal = config.GetAttr("principal");
  const char* secret_attribute = SecretAttribute(config);
  Value secret = config.GetAttr(secret_attribute);
  Value required = RequiredScopesOf(config);
  Value allow = AllowExtraOf(config);
  if (!kind.is_known_non_null() || principal.is_unknown() || !secret.is_known_non_null() ||
      !required.IsWhollyKnown() || !allow.is_known_non_null()) {
    return std::nullopt;
  }
  CredentialCheck check{.kind = kind.AsString(),
                        .principal = principal.is_null() ? "" : principal.AsString(),
                        .secret = secret.AsString(),
                        .secret_attribute = secret_attribute,
                        .allow_extra_scopes = allow.AsBool()};
  for (const Value& scope : required.Elements()) {
    if (scope.is_null()) return std::nullopt;  // Validate reports it; apply says so too
    check.required_scopes.push_back(scope.AsString());
  }
  return check;
}

// What Bitbucket said about the credential; the fingerprint is the caller's.
Value WithFacts(Value state, const VerifiedCredential& verified) {
  return state.WithAttr("credential_type", Value::String(verified.credential_type))
      .WithAttr("granted_scopes", StringSetValue(verified.granted_scopes))
      .WithAttr("account_uuid", OptionalString(verified.account_uuid))
      .WithAttr("account_id", OptionalString(verified.account_id));
}

// The salt of a state's fingerprint, when it has one this code wrote.
std::optional<std::string> KnownSalt(const Value& state) {
  if (state.is_null()) return std::nullopt;
  Value fingerprint = state.GetAttr("fingerprint");
  if (!fingerprint.is_known_non_null()) return std::nullopt;
  return FingerprintSalt(fingerprint.AsString());
}

// The salt of the first known fingerprint among `states`, or a new one.
std::string SaltFor(std::initializer_list<const Value*> states) {
  for (const Value* state : states) {
    if (std::optional<std::string> salt = KnownSalt(*state)) return *salt;
  }
  return NewFingerprintSalt();
}

class BitbucketCredential final : public tf::Resource {
 public:
  std::string TypeName() const override { return "arnica_bitbucket_credential"; }

  tf::Schema GetSchema() const override {
    tf::Schema schema;
    schema.block
        .Describe(
            "The Bitbucket Cloud credential of Arnica's service account. No public API creates "
            "or revokes one, so this resource takes it as input, verifies it with Bitbucket "
            "(GET /2.0/user) at every plan and apply, and holds it to least privilege: a "
            "missing scope is an error, and so is an extra one unless `allow_extra_scopes`. "
            "Nothing is created or deleted in Bitbucket.")
        .Add(Attribute::Computed("id", Type::String())
                 .Describe("Random, fixed when the resource is created.")
                 .UseStateForUnknown())
        .Add(Attribute::OptionalComputed("kind", Type::String())
                 .Describe("`api_token` (default): an Atlassian API token with scopes. "
                           "`access_token`: a workspace, project or repository access token, "
                           "which acts for no account. `app_password`: legacy; Bitbucket "
                           "removed app passwords on 2026-07-28."))
        .Add(Attribute::Optional("principal", Type::String())
                 .Describe("The account's e-mail address for `api_token`, its Bitbucket "
                           "username for `app_password`; not set for `access_token`."))
        .Add(Attribute::Optional("secret_wo", Type::String())
                 .Describe("The token, write-only: never stored in state or plan. Needs "
                           "OpenTofu or Terraform 1.11+. Increase `secret_wo_version` to "
                           "rotate. Exactly one of `secret_wo` and `secret`.")
                 .WriteOnly()
                 .Sensitive())
        .Add(Attribute::Optional("secret_wo_version", Type::Number())
                 .Describe("Any number; change it whenever `secret_wo` changes, so that the "
                           "new token is verified and its fingerprint recorded."))
        .Add(Attribute::Optional("secret", Type::String())
                 .Describe("The token, for hosts without write-only attributes. Sensitive, "
                           "but kept in state in plain text: prefer `secret_wo`.")
                 .Sensitive())
        .Add(Attribute::OptionalComputed("required_scopes", Type::Set(Type::String()))
                 .Describe("The scopes the token must hold, in the spelling of its kind "
                           "(granular for API tokens, classic otherwise). Default: the "
                           "least-privilege set of Arnica's Bitbucket Cloud integration, "
                           "`provider::arnica::required_scopes(kind)`."))
        .Add(Attribute::OptionalComputed("allow_extra_scopes", Type::Bool())
                 .Describe("Accept a token that grants more than `required_scopes`. Default "
                           "false."))
        .Add(Attribute::Computed("credential_type", Type::String())
                 .Describe("What Bitbucket calls the credential (`x-credential-type`), e.g. "
                           "`api_token` or `workspace_access_token`."))
        .Add(Attribute::Computed("granted_scopes", Type::Set(Type::String()))
                 .Describe("The scopes Bitbucket reports for the token (`x-oauth-scopes`)."))
        .Add(Attribute::Computed("account_uuid", Type::String())
                 .Describe("The UUID (braced, lower-case) of the account the credential acts "
                           "for; null for access tokens. Use it as a group membership's "
                           "`user`."))
        .Add(Attribute::Computed("account_id", Type::String())
                 .Describe("The Atlassian account id of that account; null for access "
                           "tokens."))
        .Add(Attribute::Computed("fingerprint", Type::String())
                 .Describe("`v1:<salt>:<digest>`: PBKDF2-HMAC-SHA256 of the token with a "
                           "random salt chosen at creation, 100,000 rounds, 16 bytes. It "
                           "changes exactly when the token does and does not reveal it."));
    return schema;
  }

  void Validate(const tf::ValidateResourceRequest& request,
                tf::Diagnostics& diagnostics) const override {
    const Value& config = request.config;
    Value kind = KindOf(config);
    if (kind.is_known_non_null() && !IsCredentialKind(kind.AsString())) {
      diagnostics.AddError(
          "Unknown Credential Kind",
          absl::StrCat("\"", kind.AsString(),
                       "\" is not a credential kind; use \"api_token\" (an Atlassian API token "
                       "with scopes), \"access_token\" or \"app_password\"."),
          AttributePath::Root("kind"));
      return;
    }
    ValidateSecretInputs(config, diagnostics);
    if (!kind.is_known_non_null()) return;
    Value principal = config.GetAttr("principal");
    if (!principal.is_unknown()) {
      CheckPrincipal(
          kind.AsString(),
          principal.is_null() ? std::nullopt : std::optional<std::string>(principal.AsString()),
          diagnostics);
    }
    ValidateScopes(kind.AsString(), config.GetAttr("required_scopes"), diagnostics);
    if (kind.AsString() == kKindAccessToken) {
      diagnostics.AddWarning(
          "Access Tokens Act for No Account",
          "A workspace, project or repository access token reaches only what it is bound to "
          "and belongs to no user, so it cannot be the service account that joins each "
          "workspace's Administrators group, and `account_uuid` stays null. Arnica's Bitbucket "
          "Cloud integration needs an API token of that account.",
          AttributePath::Root("kind"));
    }
  }

  void ModifyPlan(const tf::Context& context, const tf::PlanRequest& request,
                  tf::PlanResponse& response) const override {
    if (request.proposed_state.is_null()) return;  // destroy: nothing to check
    const Value& config = request.config;
    Value planned = response.planned_state.WithAttr("kind", KindOf(config))
                        .WithAttr("required_scopes", RequiredScopesOf(config))
                        .WithAttr("allow_extra_scopes", AllowExtraOf(config));
    response.planned_state = planned;
    const Services* services = context.Data<Services>();
    std::optional<CredentialCheck> check = CheckOf(config);
    // Not knowable yet: the facts follow at apply (the framework left them unknown, or, when
    // nothing changed, as they were).
    if (!check || services == nullptr || !services->bitbucket_base_url) return;
    // A credential that worked and is now refused (revoked, expired) is drift: the plan shows
    // the fingerprint changing, with the reason, and apply fails until the token is replaced.
    // Only the fingerprint: memberships may use the account, and must not plan a change
    // because a token stopped working. The plan must not fail either: OpenTofu plans normally
    // before a destroy.
    bool existing = !request.prior_state.is_null();
    if (existing) check->refusal = tf::Severity::kWarning;
    std::optional<VerifiedCredential> verified = VerifyCredential(
        services->http, *services->bitbucket_base_url, *check, context.stop, response.diagnostics);
    if (!verified) {
      if (existing && !response.diagnostics.HasError()) {
        response.planned_state = planned.WithAttr("fingerprint", Value::Unknown(Type::String()));
      }
      return;
    }
    planned = WithFacts(planned, *verified);
    // The host plans a create twice (again at apply) and needs the same answer both times, so
    // the salt of an object without a fingerprint yet (new, or just imported), and with it the
    // fingerprint, is chosen at apply.
    std::optional<std::string> salt = KnownSalt(request.prior_state);
    response.planned_state =
        planned.WithAttr("fingerprint", salt ? Value::String(Fingerprint(check->secret, *salt))
                                             : Value::Unknown(Type::String()));
  }

  void Create(const tf::Context& context, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    Apply(context, request, response);
  }

  void Update(const tf::Context& context, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    Apply(context, request, response);
  }

  // With `secret` in state, a refresh sees what Bitbucket now says about the credential. A
  // write-only secret is not available here; the plan that follows checks it from the
  // configuration. A refused credential keeps its state, and that plan reports it.
  void Read(const tf::Context& context, const tf::ReadResourceRequest& request,
            tf::ReadResourceResponse& response) const override {
    response.new_state = request.state;
    const auto* services = context.Data<Services>();
    std::optional<CredentialCheck> check = CheckOf(request.state);
    if (!check || check->secret_attribute != "secret" || services == nullptr ||
        !services->bitbucket_base_url) {
      return;
    }
    check->compare_scopes = false;
    tf::Diagnostics problems;
    std::optional<VerifiedCredential> verified = VerifyCredential(
        services->http, *services->bitbucket_base_url, *check, context.stop, problems);
    if (!verified) {
      plugin::Log::Warn("credential refresh failed; the next plan reports why",
                        {{"id", Str(request.state, "id")}});
      return;
    }
    response.new_state = WithFacts(request.state, *verified);  // the same secret: same fingerprint
  }

  // By the principal (the account's e-mail for an API token). Nothing exists in Bitbucket to
  // find: import only brings the credential under management without a planned create (an
  // `import` block), and the next plan verifies the configured token and records its facts.
  void Import(const tf::Context&, const tf::ImportRequest& request,
              tf::ImportResponse& response) const override {
    if (request.id.empty()) {
      response.diagnostics.AddError(
          "Invalid Import ID",
          "Give the credential's principal: the service account's e-mail for an API token.");
      return;
    }
    response.state =
        Value::Object(GetSchema().block.ImpliedType(), {{"id", Value::String(NewCredentialId())},
                                                        {"kind", Value::String(kKindApiToken)},
                                                        {"principal", Value::String(request.id)}});
  }

  void Delete(const tf::Context&, const tf::ApplyRequest&, tf::ApplyResponse&) const override {
    // Nothing to do in Bitbucket: no public API revokes a credential. Revoke it at
    // https://id.atlassian.com/manage-profile/security/api-tokens when it is no longer used.
  }

 private:
  static void ValidateScopes(const std::string& kind, const Value& required,
                             tf::Diagnostics& diagnostics) {
    if (!required.is_known_non_null()) return;
    AttributePath path = AttributePath::Root("required_scopes");
    bool granular = UsesGranularScopes(kind);
    bool has_identity = IdentityScope(kind).empty();
    for (const Value& element : required.Elements()) {
      if (element.is_null()) {
        diagnostics.AddError("Null Scope",
                             "`required_scopes` holds a null element; remove it, or list scope "
                             "names only.",
                             path);
        continue;
      }
      if (element.is_unknown()) {
        has_identity = true;  // cannot tell yet
        continue;
      }
      const std::string& scope = element.AsString();
      if (scope == IdentityScope(kind)) has_identity = true;
      if (IsKnownScope(kind, scope)) continue;
      std::string hint;
      std::optional<std::string> other = OtherSpelling(scope);
      if (other && IsKnownScope(kind, *other)) {
        hint = absl::StrCat(" `", scope, "` is the ", granular ? "classic" : "API-token",
                            " name; for ", kind, " it is `", *other, "`.");
      }
      diagnostics.AddError(
          "Unknown Bitbucket Scope",
          absl::StrCat("`", scope, "` is not a Bitbucket scope for ", kind, " (",
                       granular ? "API tokens use granular names such as "
                                  "`read:repository:bitbucket`"
                                : "app passwords and access tokens use classic names such as "
                                  "`repository`",
                       ").", hint),
          path);
    }
    if (!has_identity) {
      diagnostics.AddError(
          "Scope Needed to Verify the Token",
          absl::StrCat("`required_scopes` must include `", std::string(IdentityScope(kind)),
                       "`: this resource verifies the token with GET /2.0/user, which needs it, "
                       "and so does Arnica."),
          path);
    }
  }

  void Apply(const tf::Context& context, const tf::ApplyRequest& request,
             tf::ApplyResponse& response) const {
    const Services& services = *context.Data<Services>();
    std::optional<CredentialCheck> check = CheckOf(request.config);
    if (!check) {
      response.diagnostics.AddError(
          "Credential Configuration Incomplete",
          "At apply the configuration lacks a value the check needs: the secret is null, or "
          "`required_scopes` holds a null element (a value known only after plan can be null). "
          "Give every element of `required_scopes` a scope name and set the secret.",
          AttributePath::Root("required_scopes"));
      return;
    }
    if (!services.bitbucket_base_url) {
      response.diagnostics.AddError(
          "Bitbucket API Root Not Known",
          "The provider's `bitbucket.base_url` is still unknown at apply.",
          AttributePath::Root("bitbucket").Attr("base_url"));
      return;
    }
    std::optional<VerifiedCredential> verified = VerifyCredential(
        services.http, *services.bitbucket_base_url, *check, context.stop, response.diagnostics);
    if (!verified) return;
    std::string salt = SaltFor({&request.planned_state, &request.prior_state});
    Value state = WithFacts(request.planned_state, *verified)
                      .WithAttr("fingerprint", Value::String(Fingerprint(check->secret, salt)));
    Value id = request.planned_state.GetAttr("id");
    state = state.WithAttr("id", id.is_known_non_null() ? id : Value::String(NewCredentialId()));

    std::vector<std::string> changed;
    for (const char* name : kComputedFacts) {
      Value planned = request.planned_state.GetAttr(name);
      if (!planned.is_unknown() && planned != state.GetAttr(name)) changed.push_back(name);
    }
    if (!changed.empty()) {
      response.diagnostics.AddError(
          "Credential Changed Since Plan",
          absl::StrCat("Bitbucket's answer about the credential differs from the plan in `",
                       absl::StrJoin(changed, "`, `"),
                       "`: the token or its scopes changed in between. Run plan again."),
          AttributePath::Root(check->secret_attribute));
      return;
    }
    response.new_state = state;
  }
};

class RequiredScopesFunction final : public tf::Function {
 public:
  std::string Name() const override { return "required_scopes"; }

  tf::FunctionSignature Signature() const override {
    return {.parameters = {{.name = "kind",
                            .type = Type::String(),
                            .description = "`api_token`, `access_token` or `app_password`."}},
            .return_type = Type::List(Type::String()),
            .summary = "The least-privilege Bitbucket scopes of Arnica's integration.",
            .description =
                "The default `required_scopes` of `arnica_bitbucket_credential` for a "
                "credential kind: granular names (`read:repository:bitbucket`) for API tokens, "
                "classic names (`repository`) for app passwords and access tokens, which omit "
                "the account-level scopes they cannot hold."};
  }

  std::variant<Value, tf::FunctionError> Call(const std::vector<Value>& arguments) const override {
    const std::string& kind = arguments[0].AsString();
    if (!IsCredentialKind(kind)) {
      return tf::FunctionError{
          absl::StrCat("\"", kind,
                       "\" is not a credential kind; use \"api_token\", \"access_token\" or "
                       "\"app_password\""),
          0};
    }
    return Value::List(Type::String(), StringValues(DefaultScopes(kind)));
  }
};

}  // namespace

std::shared_ptr<const tf::Resource> NewBitbucketCredential() {
  return std::make_shared<BitbucketCredential>();
}

std::shared_ptr<const tf::Function> NewRequiredScopesFunction() {
  return std::make_shared<RequiredScopesFunction>();
}

}  // namespace arnica::resources
