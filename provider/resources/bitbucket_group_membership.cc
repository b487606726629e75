#include "provider/resources/bitbucket_group_membership.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "provider/http/bitbucket_errors.h"
#include "provider/resources/group_members.h"
#include "provider/resources/services.h"

namespace arnica::resources {
namespace {

using tf::Attribute;
using tf::AttributePath;
using tf::Type;
using tf::Value;

constexpr char kDefaultGroup[] = "administrators";

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
    Services& services = *context.Data<Services>();
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    std::optional<Membership> membership = ResolveMembership(
        *bitbucket, Str(request.planned_state, "workspace"), Str(request.planned_state, "group"),
        Str(request.planned_state, "user"), context.stop, response.diagnostics);
    if (!membership) return;
    if (!JoinGroup(services, *bitbucket, *membership, context.stop, response.diagnostics)) return;
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
    // Gone (the group, the workspace or the membership): out of state, so the next plan adds
    // it again.
    if (!HasMember(*members, user)) response.new_state = Value::Null(request.state.type());
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
    absl::Status removed = LeaveGroup(services, *bitbucket, m, context.stop, response.diagnostics);
    if (!removed.ok() && !response.diagnostics.HasError()) {
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
    Services& services = *context.Data<Services>();
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    std::optional<Membership> membership =
        ResolveMembership(*bitbucket, workspace, group, user, context.stop, response.diagnostics);
    if (!membership) return;
    Value given =
        Value::Object(GetSchema().block.ImpliedType(),
                      {{"workspace", Value::String(workspace)}, {"user", Value::String(user)}});
    response.state = StateOf(GetSchema().block.ImpliedType(), given, *membership);
  }
};

}  // namespace

std::shared_ptr<const tf::Resource> NewBitbucketGroupMembership() {
  return std::make_shared<GroupMembership>();
}

}  // namespace arnica::resources
