#include "provider/resources/bitbucket_group_membership.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/resources/services.h"

namespace arnica::resources {
namespace {

using tf::Attribute;
using tf::AttributePath;
using tf::Type;
using tf::Value;

constexpr char kDefaultGroup[] = "administrators";

// What the state records of one membership once it is known.
struct Membership {
  std::string workspace_slug, workspace_uuid, group, user_uuid, user_account_id;
  bool admin_managed = false;
};

std::string Str(const Value& object, const char* name) {
  Value value = object.GetAttr(name);
  return value.is_known_non_null() ? value.AsString() : std::string();
}

// Whether `given` (a slug or a UUID in any spelling) names the workspace in `state`.
bool SameWorkspace(const std::string& given, const Value& state) {
  if (given == Str(state, "workspace_slug")) return true;
  std::optional<std::string> uuid = clients::CanonicalUuid(given);
  return uuid && *uuid == Str(state, "workspace_uuid");
}

// Whether `given` (a UUID in any spelling, or an account id) names the user in `state`.
bool SameUser(const std::string& given, const Value& state) {
  std::optional<std::string> uuid = clients::CanonicalUuid(given);
  if (uuid) return *uuid == Str(state, "user_uuid");
  return !given.empty() && given == Str(state, "user_account_id");
}

Value StateOf(const Type& type, const Value& config_like, const Membership& m) {
  return Value::Object(
      type, {{"id", Value::String(absl::StrCat(m.workspace_slug, "/", m.group, "/", m.user_uuid))},
             {"workspace", config_like.GetAttr("workspace")},
             {"group", Value::String(m.group)},
             {"user", config_like.GetAttr("user")},
             {"workspace_slug", Value::String(m.workspace_slug)},
             {"workspace_uuid", Value::String(m.workspace_uuid)},
             {"user_uuid", Value::String(m.user_uuid)},
             {"user_account_id", Value::String(m.user_account_id)},
             {"admin_managed", Value::Bool(m.admin_managed)}});
}

bool IsMethodNotAllowed(const absl::Status& status) {
  std::optional<http::ServiceError> error = http::ServiceErrorOf(status);
  return error && error->status == 405;
}

class GroupMembership final : public tf::Resource {
 public:
  std::string TypeName() const override { return "arnica_bitbucket_group_membership"; }

  tf::Schema GetSchema() const override {
    tf::Schema schema;
    schema.block
        .Describe(
            "One user in one group of a Bitbucket Cloud workspace (by default Administrators). "
            "The user must already belong to the workspace: Bitbucket has no API to invite. "
            "Workspaces administered in admin.atlassian.com are changed through the Atlassian "
            "Admin API (the `atlassian_admin` provider block).")
        .Add(Attribute::Computed("id", Type::String())
                 .Describe("`workspace_slug/group/user_uuid`.")
                 .UseStateForUnknown())
        .Add(Attribute::Required("workspace", Type::String())
                 .Describe("The workspace's slug or UUID. Another spelling of the same "
                           "workspace is no change; another workspace replaces the membership."))
        .Add(Attribute::OptionalComputed("group", Type::String())
                 .Describe("The group's slug. Default `administrators`.")
                 .RequiresReplace())
        .Add(Attribute::Required("user", Type::String())
                 .Describe("The user's UUID (with or without braces, any case) or Atlassian "
                           "account id. Another spelling of the same user is no change."))
        .Add(Attribute::Computed("workspace_slug", Type::String()).UseStateForUnknown())
        .Add(Attribute::Computed("workspace_uuid", Type::String()).UseStateForUnknown())
        .Add(Attribute::Computed("user_uuid", Type::String())
                 .Describe("Braced, lower-case.")
                 .UseStateForUnknown())
        .Add(Attribute::Computed("user_account_id", Type::String()).UseStateForUnknown())
        .Add(Attribute::Computed("admin_managed", Type::Bool())
                 .Describe("Whether the workspace is administered in admin.atlassian.com.")
                 .UseStateForUnknown());
    return schema;
  }

  std::optional<tf::IdentitySchema> GetIdentitySchema() const override {
    tf::IdentitySchema identity;
    for (const char* name : {"workspace", "group", "user"}) {
      identity.attributes.push_back(
          {.name = name, .type = Type::String(), .required_for_import = true});
    }
    return identity;
  }

  std::optional<Value> IdentityOf(const Value& state) const override {
    if (Str(state, "workspace_slug").empty() || Str(state, "user_uuid").empty()) {
      return std::nullopt;
    }
    return Value::Object(GetIdentitySchema()->ImpliedType(),
                         {{"workspace", state.GetAttr("workspace_slug")},
                          {"group", state.GetAttr("group")},
                          {"user", state.GetAttr("user_uuid")}});
  }

  void Validate(const tf::ValidateResourceRequest& request,
                tf::Diagnostics& diagnostics) const override {
    for (const char* name : {"workspace", "group", "user"}) {
      Value value = request.config.GetAttr(name);
      if (value.is_known_non_null() && value.AsString().empty()) {
        diagnostics.AddError("Empty Value", absl::StrCat("`", name, "` must not be empty."),
                             AttributePath::Root(name));
      }
    }
  }

  // Another spelling of the same workspace or user keeps the prior value (the host accepts a
  // planned value equal to the prior one), so it shows no diff; a different one replaces.
  void ModifyPlan(const tf::Context&, const tf::PlanRequest& request,
                  tf::PlanResponse& response) const override {
    if (request.proposed_state.is_null()) return;  // destroy
    Value planned = response.planned_state;
    if (request.config.GetAttr("group").is_null()) {
      planned = planned.WithAttr("group", request.prior_state.is_null()
                                              ? Value::String(kDefaultGroup)
                                              : request.prior_state.GetAttr("group"));
    }
    if (!request.prior_state.is_null()) {
      const Value& prior = request.prior_state;
      for (const char* name : {"workspace", "user"}) {
        Value given = request.config.GetAttr(name);
        if (!given.is_known_non_null()) continue;
        bool same = std::string(name) == "workspace" ? SameWorkspace(given.AsString(), prior)
                                                     : SameUser(given.AsString(), prior);
        if (same) {
          planned = planned.WithAttr(name, prior.GetAttr(name));
        } else {
          response.requires_replace.push_back(AttributePath::Root(name));
        }
      }
    }
    response.planned_state = planned;
  }

  void Create(const tf::Context& context, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    const Services& services = *context.Data<Services>();
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    std::optional<Membership> membership = Resolve(
        *bitbucket, Str(request.planned_state, "workspace"), Str(request.planned_state, "group"),
        Str(request.planned_state, "user"), context.stop, response.diagnostics);
    if (!membership) return;
    if (!Join(services, *bitbucket, *membership, context.stop, response.diagnostics)) return;
    response.new_state =
        StateOf(GetSchema().block.ImpliedType(), request.planned_state, *membership);
  }

  void Read(const tf::Context& context, const tf::ReadResourceRequest& request,
            tf::ReadResourceResponse& response) const override {
    Services& services = *context.Data<Services>();
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(response.diagnostics);
    response.new_state = request.state;
    if (bitbucket == nullptr) return;
    std::string workspace = Str(request.state, "workspace_slug");
    std::string group = Str(request.state, "group");
    std::string user = Str(request.state, "user_uuid");
    auto members = services.members.Get(*bitbucket, workspace, group, context.stop);
    if (!members.ok()) {
      return AddServiceError(response.diagnostics, "Cannot Read Group Members", members.status());
    }
    bool present = members->has_value() &&
                   std::any_of((*members)->begin(), (*members)->end(),
                               [&](const auto& member) { return member.uuid == user; });
    // Gone (the group, the workspace or the membership): out of state, so the next plan adds
    // it again.
    if (!present) response.new_state = Value::Null(request.state.type());
  }

  void Update(const tf::Context&, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    // Every real change replaces; what is left is a respelling kept as planned.
    response.new_state = request.planned_state;
  }

  void Delete(const tf::Context& context, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    Services& services = *context.Data<Services>();
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    const Value& prior = request.prior_state;
    Membership m{.workspace_slug = Str(prior, "workspace_slug"),
                 .group = Str(prior, "group"),
                 .user_uuid = Str(prior, "user_uuid"),
                 .user_account_id = Str(prior, "user_account_id")};
    absl::Status removed =
        bitbucket->RemoveGroupMember(m.workspace_slug, m.group, m.user_uuid, context.stop);
    if (IsMethodNotAllowed(removed))
      removed = ThroughAdmin(services, *bitbucket, m, false, context.stop, response.diagnostics);
    services.members.Forget(m.workspace_slug, m.group);
    if (!removed.ok() && !absl::IsNotFound(removed)) {  // already gone is success
      AddServiceError(response.diagnostics, "Cannot Remove Group Member", removed);
    }
  }

  void Import(const tf::Context& context, const tf::ImportRequest& request,
              tf::ImportResponse& response) const override {
    std::string workspace, group, user;
    if (request.identity) {
      workspace = Str(*request.identity, "workspace");
      group = Str(*request.identity, "group");
      user = Str(*request.identity, "user");
    } else {
      std::vector<std::string> parts = absl::StrSplit(request.id, '/');
      if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
        response.diagnostics.AddError(
            "Invalid Import ID", absl::StrCat("\"", request.id,
                                              "\" is not `workspace/group/user`; for example "
                                              "`my-workspace/administrators/{0f1e2d3c-...}`."));
        return;
      }
      workspace = parts[0], group = parts[1], user = parts[2];
    }
    const Services& services = *context.Data<Services>();
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    std::optional<Membership> membership =
        Resolve(*bitbucket, workspace, group, user, context.stop, response.diagnostics);
    if (!membership) return;
    Value given =
        Value::Object(GetSchema().block.ImpliedType(),
                      {{"workspace", Value::String(workspace)}, {"user", Value::String(user)}});
    response.state = StateOf(GetSchema().block.ImpliedType(), given, *membership);
  }

 private:
  // The workspace's slug and UUID and the user's UUID and account id. The user must already be
  // a member of the workspace: Bitbucket has no API to invite one.
  static std::optional<Membership> Resolve(clients::BitbucketClient& bitbucket,
                                           const std::string& workspace, const std::string& group,
                                           const std::string& user, std::stop_token stop,
                                           tf::Diagnostics& diagnostics) {
    auto found = bitbucket.GetWorkspace(workspace, stop);
    if (!found.ok()) {
      AddServiceError(diagnostics, "Cannot Read Workspace " + workspace, found.status(),
                      AttributePath::Root("workspace"));
      return std::nullopt;
    }
    std::string member = clients::CanonicalUuid(user).value_or(user);
    auto membership = bitbucket.GetWorkspaceMember(found->slug, member, stop);
    if (!membership.ok()) {
      AddServiceError(diagnostics, "Cannot Read Workspace Members", membership.status(),
                      AttributePath::Root("user"));
      return std::nullopt;
    }
    if (!membership->has_value()) {
      diagnostics.AddError(
          "User Not In Workspace",
          absl::StrCat("The user ", user, " is not a member of the workspace ", found->slug,
                       ", and Bitbucket has no API to add one. Invite the user in Bitbucket "
                       "(workspace settings, User management), let them accept, then apply "
                       "again."),
          AttributePath::Root("user"));
      return std::nullopt;
    }
    return Membership{.workspace_slug = found->slug,
                      .workspace_uuid = found->uuid,
                      .group = group,
                      .user_uuid = (*membership)->user.uuid,
                      .user_account_id = (*membership)->user.account_id,
                      .admin_managed = !(*membership)->has_access_dates};
  }

  // Puts the user in the group unless already there (adopted, not an error).
  static bool Join(const Services& services, clients::BitbucketClient& bitbucket, Membership& m,
                   std::stop_token stop, tf::Diagnostics& diagnostics) {
    auto& cache = const_cast<MemberCache&>(services.members);
    auto members = cache.Get(bitbucket, m.workspace_slug, m.group, stop);
    if (!members.ok()) {
      AddServiceError(diagnostics, "Cannot Read Group Members", members.status());
      return false;
    }
    if (!members->has_value()) {
      diagnostics.AddError("Group Not Found",
                           absl::StrCat("The workspace ", m.workspace_slug, " has no group \"",
                                        m.group, "\". Use the group's slug (e.g. administrators)."),
                           AttributePath::Root("group"));
      return false;
    }
    for (const auto& member : **members) {
      if (member.uuid == m.user_uuid) return true;
    }
    absl::Status added =
        bitbucket.AddGroupMember(m.workspace_slug, m.group, m.user_uuid, stop).status();
    if (IsMethodNotAllowed(added)) {
      m.admin_managed = true;
      added = ThroughAdmin(services, bitbucket, m, true, stop, diagnostics);
    }
    cache.Forget(m.workspace_slug, m.group);
    if (absl::IsAlreadyExists(added)) return true;
    if (!added.ok()) {
      if (!diagnostics.HasError()) AddServiceError(diagnostics, "Cannot Add Group Member", added);
      return false;
    }
    return true;
  }

  // For workspaces administered in admin.atlassian.com: the group of the same name in the
  // organization's directories.
  static absl::Status ThroughAdmin(const Services& services, clients::BitbucketClient& bitbucket,
                                   const Membership& m, bool add, std::stop_token stop,
                                   tf::Diagnostics& diagnostics) {
    clients::AtlassianAdminClient* admin = services.RequireAdmin(diagnostics);
    if (admin == nullptr) return absl::FailedPreconditionError("no Atlassian Admin API");
    auto groups = bitbucket.ListGroups(m.workspace_slug, stop);
    if (!groups.ok()) return groups.status();
    auto group = std::find_if(groups->begin(), groups->end(),
                              [&](const auto& g) { return g.slug == m.group; });
    if (group == groups->end()) return absl::NotFoundError("the group is gone");
    auto directories = admin->ListDirectories(stop);
    if (!directories.ok()) return directories.status();
    std::vector<std::pair<std::string, std::string>> matches;  // directory, group id
    for (const auto& directory : *directories) {
      auto found = admin->ListGroups(directory.id, group->name, {}, stop);
      if (!found.ok()) return found.status();
      for (const auto& candidate : *found) {
        if (absl::EqualsIgnoreCase(candidate.name, group->name)) {
          matches.emplace_back(directory.id, candidate.id);
        }
      }
    }
    if (matches.size() != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "The organization has ", matches.size(), " groups named \"", group->name,
          "\" in its directories, so the Atlassian Admin API group for ", m.workspace_slug, "/",
          m.group, " cannot be told apart. Manage this membership in admin.atlassian.com."));
    }
    const auto& [directory, group_id] = matches.front();
    return add ? admin->AddGroupMember(directory, group_id, m.user_account_id, stop)
               : admin->RemoveGroupMember(directory, group_id, m.user_account_id, stop);
  }
};

}  // namespace

std::shared_ptr<const tf::Resource> NewBitbucketGroupMembership() {
  return std::make_shared<GroupMembership>();
}

}  // namespace arnica::resources
