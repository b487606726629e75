#include "provider/resources/bitbucket_user.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/resources/services.h"

namespace arnica::resources {
namespace {

using clients::BitbucketUser;
using tf::Attribute;
using tf::AttributePath;
using tf::Type;
using tf::Value;

// The attributes that say which user to read; exactly one of them is set.
constexpr const char* kSelectors[] = {"uuid", "account_id", "email"};

std::string Str(const Value& object, const char* name) {
  Value value = object.GetAttr(name);
  return value.is_known_non_null() ? value.AsString() : std::string();
}

bool IsSet(const Value& config, const char* name) {
  return config.GetAttr(name).is_known_non_null();
}

// One `@`, something on either side, and nothing a query string literal would have to escape.
bool LooksLikeEmail(const std::string& text) {
  std::size_t at = text.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == text.size()) return false;
  if (text.find('@', at + 1) != std::string::npos) return false;
  for (unsigned char c : text) {
    if (absl::ascii_isspace(c) || absl::ascii_iscntrl(c) || c == '"' || c == '\\') return false;
  }
  return true;
}

// Exactly one selector. An unknown value may still turn out null, so it conflicts with nothing
// yet: the host validates again, with every value known, right before it reads.
void ValidateSelectors(const Value& config, tf::Diagnostics& diagnostics) {
  std::vector<std::string> given;
  bool maybe = false;
  for (const char* name : kSelectors) {
    if (IsSet(config, name)) given.emplace_back(name);
    maybe = maybe || config.GetAttr(name).is_unknown();
  }
  if (given.empty() && !maybe) {
    diagnostics.AddError("Missing User Selector",
                         "Set exactly one of `uuid`, `account_id` or `email` (with `workspace`) "
                         "to say which Bitbucket user to read.");
  }
  for (std::size_t i = 1; i < given.size(); ++i) {
    diagnostics.AddError("Conflicting User Selectors",
                         absl::StrCat("`", given[0], "` and `", given[i],
                                      "` are both set. Set exactly one of `uuid`, `account_id` "
                                      "or `email`."),
                         AttributePath::Root(given[i]));
  }
}

// `workspace` goes with `email` and with nothing else (unknown values are checked once known).
void ValidateWorkspace(const Value& config, tf::Diagnostics& diagnostics) {
  Value email = config.GetAttr("email"), workspace = config.GetAttr("workspace");
  if (email.is_known_non_null() && workspace.is_null()) {
    diagnostics.AddError("Missing Workspace",
                         "Bitbucket looks e-mail addresses up among the members of one "
                         "workspace: set `workspace` to its slug or UUID.",
                         AttributePath::Root("email"));
  } else if (workspace.is_known_non_null() && email.is_null()) {
    diagnostics.AddError("Workspace Without E-mail",
                         "`workspace` is used only with `email`: a user read by `uuid` or "
                         "`account_id` is found in all of Bitbucket. Remove `workspace`, or read "
                         "the user by `email`.",
                         AttributePath::Root("workspace"));
  }
}

void ValidateUuid(const Value& config, tf::Diagnostics& diagnostics) {
  if (!IsSet(config, "uuid") || clients::CanonicalUuid(Str(config, "uuid"))) return;
  diagnostics.AddError("Invalid UUID",
                       absl::StrCat("\"", Str(config, "uuid"),
                                    "\" is not a UUID. Write the user's UUID with or without "
                                    "braces, in any case, e.g. "
                                    "`{0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0}`."),
                       AttributePath::Root("uuid"));
}

void ValidateAccountId(const Value& config, tf::Diagnostics& diagnostics) {
  if (!IsSet(config, "account_id")) return;
  std::string id = Str(config, "account_id");
  if (id.empty()) {
    diagnostics.AddError("Empty Value", "`account_id` must not be empty.",
                         AttributePath::Root("account_id"));
  } else if (clients::CanonicalUuid(id)) {
    diagnostics.AddError("UUID Given As Account ID",
                         absl::StrCat("\"", id,
                                      "\" is a UUID, not an Atlassian account id: set it as "
                                      "`uuid` instead."),
                         AttributePath::Root("account_id"));
  }
}

void ValidateEmail(const Value& config, tf::Diagnostics& diagnostics) {
  if (IsSet(config, "email") && !LooksLikeEmail(Str(config, "email"))) {
    diagnostics.AddError("Invalid E-mail Address",
                         absl::StrCat("\"", Str(config, "email"),
                                      "\" is not an e-mail address. Write one address, e.g. "
                                      "`someone@example.com`."),
                         AttributePath::Root("email"));
  }
  if (IsSet(config, "workspace") && Str(config, "workspace").empty()) {
    diagnostics.AddError("Empty Value", "`workspace` must not be empty.",
                         AttributePath::Root("workspace"));
  }
}

void AddNotFoundById(tf::Diagnostics& diagnostics, bool by_uuid, const std::string& given) {
  std::string detail =
      by_uuid ? absl::StrCat("No Bitbucket user has the UUID ", given,
                             ". Check that it is the UUID of a user (not of a workspace or "
                             "group), e.g. as `GET /2.0/workspaces/{workspace}/members` lists it.")
              : absl::StrCat("No Bitbucket user has the Atlassian account id \"", given,
                             "\". Check the id, e.g. as admin.atlassian.com or "
                             "`GET /2.0/workspaces/{workspace}/members` shows it.");
  diagnostics.AddError("Bitbucket User Not Found", detail,
                       AttributePath::Root(by_uuid ? "uuid" : "account_id"));
}

std::optional<BitbucketUser> ReadById(clients::BitbucketClient& bitbucket, const Value& config,
                                      std::stop_token stop, tf::Diagnostics& diagnostics) {
  bool by_uuid = IsSet(config, "uuid");
  std::string given = Str(config, by_uuid ? "uuid" : "account_id");
  auto found = bitbucket.GetUser(given, stop);
  if (!found.ok()) {
    AddServiceError(diagnostics, "Cannot Read Bitbucket User", found.status(),
                    AttributePath::Root(by_uuid ? "uuid" : "account_id"));
    return std::nullopt;
  }
  if (!found->has_value()) AddNotFoundById(diagnostics, by_uuid, given);
  return *found;
}

// A failed e-mail lookup. Bitbucket refuses the e-mail filter with 400 to anyone but the
// workspace's administrators, and its generic remedy for a 400 would mislead, so that one is
// told in full here.
void AddLookupError(tf::Diagnostics& diagnostics, const std::string& workspace,
                    const absl::Status& status) {
  if (absl::IsNotFound(status)) {
    return AddServiceError(diagnostics, "Cannot Read Workspace Members", status,
                           AttributePath::Root("workspace"));
  }
  std::optional<http::ServiceError> error = http::ServiceErrorOf(status);
  if (!absl::IsInvalidArgument(status) || !error) {
    return AddServiceError(diagnostics, "Cannot Look Up User By E-mail", status,
                           AttributePath::Root("email"));
  }
  diagnostics.AddError(
      "Cannot Look Up User By E-mail",
      absl::StrCat("Bitbucket refused the e-mail lookup in ", workspace, " (HTTP 400",
                   error->message.empty() ? "" : ": ", error->message,
                   "). Bitbucket answers e-mail lookups only for administrators of the "
                   "workspace (and its workspace access token): configure a credential of a "
                   "workspace administrator, or read the user by `uuid` or `account_id`."),
      AttributePath::Root("email"));
}

void AddNotFoundByEmail(tf::Diagnostics& diagnostics, const std::string& email,
                        const std::string& workspace) {
  diagnostics.AddError(
      "Bitbucket User Not Found",
      absl::StrCat("No member of the workspace ", workspace, " has the e-mail address ", email,
                   ". Check the address, and that the user is a member of ", workspace,
                   ": Bitbucket looks e-mail addresses up among a workspace's members only, and "
                   "answers such lookups only for the workspace's administrators."),
      AttributePath::Root("email"));
}

std::optional<BitbucketUser> ReadByEmail(clients::BitbucketClient& bitbucket, const Value& config,
                                         std::stop_token stop, tf::Diagnostics& diagnostics) {
  std::string email = Str(config, "email"), workspace = Str(config, "workspace");
  auto members = bitbucket.FindWorkspaceMembersByEmail(workspace, {email}, stop);
  if (!members.ok()) {
    AddLookupError(diagnostics, workspace, members.status());
    return std::nullopt;
  }
  std::vector<BitbucketUser> users;
  std::vector<std::string> uuids;
  for (const auto& member : *members) {
    if (std::find(uuids.begin(), uuids.end(), member.user.uuid) != uuids.end()) continue;
    uuids.push_back(member.user.uuid);
    users.push_back(member.user);
  }
  if (users.empty()) {
    AddNotFoundByEmail(diagnostics, email, workspace);
    return std::nullopt;
  }
  if (users.size() > 1) {
    diagnostics.AddError(
        "Ambiguous E-mail Address",
        absl::StrCat("Several members of ", workspace, " have the address ", email, " (",
                     absl::StrJoin(uuids, ", "), "). Read the user by `uuid` instead."),
        AttributePath::Root("email"));
    return std::nullopt;
  }
  return users.front();
}

class BitbucketUserData final : public tf::DataSource {
 public:
  std::string TypeName() const override { return "arnica_bitbucket_user"; }

  tf::Schema GetSchema() const override {
    tf::Schema schema;
    schema.block
        .Describe(
            "One Bitbucket Cloud user, read by `uuid` or `account_id` (`GET /2.0/users/{user}`, "
            "any user) or by `email` among the members of `workspace` (Bitbucket answers e-mail "
            "lookups only for the workspace's administrators). Set exactly one of `uuid`, "
            "`account_id` and `email`. A user that is not found is an error.")
        .Add(Attribute::OptionalComputed("uuid", Type::String())
                 .Describe("The user's UUID: given with or without braces, in any case; read back "
                           "braced and lower-case."))
        .Add(Attribute::OptionalComputed("account_id", Type::String())
                 .Describe("The user's Atlassian account id."))
        .Add(Attribute::Optional("email", Type::String())
                 .Describe("An e-mail address of the user (any case); needs `workspace`."))
        .Add(Attribute::Optional("workspace", Type::String())
                 .Describe("The slug or UUID of the workspace whose members `email` is looked up "
                           "among; only with `email`."))
        .Add(Attribute::Computed("nickname", Type::String())
                 .Describe("The user's nickname (not unique)."))
        .Add(Attribute::Computed("display_name", Type::String()));
    return schema;
  }

  void Validate(const Value& config, tf::Diagnostics& diagnostics) const override {
    ValidateSelectors(config, diagnostics);
    ValidateWorkspace(config, diagnostics);
    ValidateUuid(config, diagnostics);
    ValidateAccountId(config, diagnostics);
    ValidateEmail(config, diagnostics);
  }

  void Read(const tf::Context& context, const Value& config,
            tf::ReadDataResponse& response) const override {
    const Services* services = context.Data<Services>();
    clients::BitbucketClient* bitbucket = services->RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    std::optional<BitbucketUser> user =
        IsSet(config, "email") ? ReadByEmail(*bitbucket, config, context.stop, response.diagnostics)
                               : ReadById(*bitbucket, config, context.stop, response.diagnostics);
    if (!user) return;
    response.state = Value::Object(GetSchema().block.ImpliedType(),
                                   {{"uuid", Value::String(user->uuid)},
                                    {"account_id", Value::String(user->account_id)},
                                    {"email", config.GetAttr("email")},
                                    {"workspace", config.GetAttr("workspace")},
                                    {"nickname", Value::String(user->nickname)},
                                    {"display_name", Value::String(user->display_name)}});
  }
};

}  // namespace

std::shared_ptr<const tf::DataSource> NewBitbucketUser() {
  return std::make_shared<BitbucketUserData>();
}

}  // namespace arnica::resources
