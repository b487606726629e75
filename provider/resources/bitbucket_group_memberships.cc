#include "provider/resources/bitbucket_group_memberships.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "provider/resources/group_members.h"
#include "provider/resources/services.h"

namespace arnica::resources {
namespace {

using tf::Attribute;
using tf::AttributePath;
using tf::Type;
using tf::Value;

constexpr char kDefaultGroup[] = "administrators";

Type EntryType() { return Type::Object({{"uuid", Type::String()}, {"member", Type::Bool()}}); }

Value Entry(const std::string& uuid, bool member) {
  return Value::Object(EntryType(),
                       {{"uuid", Value::String(uuid)}, {"member", Value::Bool(member)}});
}

class GroupMemberships final : public tf::Resource {
 public:
  std::string TypeName() const override { return "arnica_bitbucket_group_memberships"; }

  tf::Schema GetSchema() const override {
    tf::Schema schema;
    schema.block
        .Describe(
            "One user in one group (by default Administrators) of many Bitbucket Cloud "
            "workspaces: those listed in `workspaces`, or else every workspace the configured "
            "credential administers, found again at every plan. A new workspace shows as a "
            "planned addition, a removed member as a planned re-add, a deleted workspace leaves "
            "`memberships` without an error. A discovery that fails part-way fails the plan: "
            "it never plans the removal of memberships it could not see.")
        .Add(Attribute::Computed("id", Type::String())
                 .Describe("`group/user_uuid`.")
                 .UseStateForUnknown())
        .Add(Attribute::OptionalComputed("group", Type::String())
                 .Describe("The group's slug in every workspace. Default `administrators`.")
                 .RequiresReplace())
        .Add(Attribute::Required("user", Type::String())
                 .Describe("The user's UUID (any spelling) or account id. The user must already "
                           "belong to every workspace: Bitbucket has no API to invite."))
        .Add(Attribute::Optional("workspaces", Type::Set(Type::String()))
                 .Describe("Workspace slugs. Default: every workspace the credential "
                           "administers (`GET /2.0/user/workspaces?administrator=true`)."))
        .Add(Attribute::Optional("exclude_workspaces", Type::Set(Type::String()))
                 .Describe("Workspace slugs to leave alone."))
        .Add(Attribute::Computed("user_uuid", Type::String()).UseStateForUnknown())
        .Add(Attribute::Computed("user_account_id", Type::String()).UseStateForUnknown())
        .Add(Attribute::Computed("memberships", Type::Map(EntryType()))
                 .Describe("By workspace slug: the workspace's `uuid`, and `member`, whether the "
                           "user is in the group there."));
    return schema;
  }

  // The workspaces this resource manages now: discovered at plan time unless listed. Null (with
  // a diagnostic) when the discovery fails: then nothing is planned at all.
  static std::optional<std::map<std::string, std::string>> Targets(Services& services,
                                                                   const Value& config,
                                                                   std::stop_token stop,
                                                                   tf::Diagnostics& diagnostics) {
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(diagnostics);
    if (bitbucket == nullptr) return std::nullopt;
    std::vector<std::string> listed = KnownStrings(config.GetAttr("workspaces"));
    std::vector<std::string> excluded = KnownStrings(config.GetAttr("exclude_workspaces"));
    auto visible = bitbucket->ListUserWorkspaces(
        listed.empty() ? std::optional<bool>(true) : std::nullopt, stop);
    if (!visible.ok()) {
      AddServiceError(diagnostics, "Cannot Discover Bitbucket Workspaces", visible.status());
      return std::nullopt;
    }
    std::map<std::string, std::string> targets;  // slug -> uuid
    for (const auto& workspace : *visible) {
      if (listed.empty() || std::binary_search(listed.begin(), listed.end(), workspace.slug))
        targets[workspace.slug] = workspace.uuid;
    }
    for (const std::string& slug : listed) {
      if (!targets.count(slug)) {
        diagnostics.AddError(
            "Workspace Not Visible",
            absl::StrCat("The configured credential cannot see the workspace \"", slug,
                         "\". Check the slug, and that the credential's account belongs to it."),
            AttributePath::Root("workspaces"));
      }
    }
    if (diagnostics.HasError()) return std::nullopt;
    for (const std::string& slug : excluded) targets.erase(slug);
    return targets;
  }

  void ModifyPlan(const tf::Context& context, const tf::PlanRequest& request,
                  tf::PlanResponse& response) const override {
    if (request.proposed_state.is_null()) return;  // destroy
    Value planned = response.planned_state;
    const Value& prior = request.prior_state;
    if (request.config.GetAttr("group").is_null()) {
      planned = planned.WithAttr(
          "group", prior.is_null() ? Value::String(kDefaultGroup) : prior.GetAttr("group"));
    }
    Value user = request.config.GetAttr("user");
    if (!prior.is_null() && user.is_known_non_null()) {
      if (SameUser(user.AsString(), prior)) {
        planned = planned.WithAttr("user", prior.GetAttr("user"));
      } else {
        response.requires_replace.push_back(AttributePath::Root("user"));
      }
    }
    // Workspaces known only after apply: the map is unknown until then.
    for (const char* name : {"workspaces", "exclude_workspaces"}) {
      if (!request.config.GetAttr(name).IsWhollyKnown()) {
        response.planned_state =
            planned.WithAttr("memberships", Value::Unknown(Type::Map(EntryType())));
        return;
      }
    }
    auto targets =
        Targets(*context.Data<Services>(), request.config, context.stop, response.diagnostics);
    if (!targets) return;
    std::map<std::string, Value> entries;
    for (const auto& [slug, uuid] : *targets) entries[slug] = Entry(uuid, true);
    response.planned_state =
        planned.WithAttr("memberships", Value::Map(EntryType(), std::move(entries)));
  }

  void Create(const tf::Context& context, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    Apply(context, request, response);
  }

  void Update(const tf::Context& context, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    Apply(context, request, response);
  }

  // By `group/user` (the user by UUID in any spelling, or account id), as `id` reads. The state
  // lists every workspace the credential administers; the read that follows fills in where the
  // user is in the group, and the next plan adds it where it is not.
  void Import(const tf::Context& context, const tf::ImportRequest& request,
              tf::ImportResponse& response) const override {
    std::vector<std::string> parts = absl::StrSplit(request.id, absl::MaxSplits('/', 1));
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      response.diagnostics.AddError(
          "Invalid Import ID",
          absl::StrCat("\"", request.id,
                       "\" is not `group/user`; for example "
                       "`administrators/{0f1e2d3c-...}` (the user by UUID or account id)."));
      return;
    }
    Services& services = *context.Data<Services>();
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    auto user = bitbucket->GetUser(parts[1], context.stop);
    if (!user.ok()) return AddServiceError(response.diagnostics, "Cannot Read User", user.status());
    if (!user->has_value()) {
      response.diagnostics.AddError(
          "User Not Found",
          absl::StrCat("Bitbucket has no user \"", parts[1], "\". Give a UUID or an account id."));
      return;
    }
    auto administered = bitbucket->ListUserWorkspaces(true, context.stop);
    if (!administered.ok()) {
      return AddServiceError(response.diagnostics, "Cannot Discover Bitbucket Workspaces",
                             administered.status());
    }
    std::map<std::string, Value> entries;
    for (const auto& workspace : *administered)
      entries[workspace.slug] = Entry(workspace.uuid, false);
    response.state =
        Value::Object(GetSchema().block.ImpliedType(),
                      {{"id", Value::String(absl::StrCat(parts[0], "/", (*user)->uuid))},
                       {"group", Value::String(parts[0])},
                       {"user", Value::String(parts[1])},
                       {"user_uuid", Value::String((*user)->uuid)},
                       {"user_account_id", Value::String((*user)->account_id)},
                       {"memberships", Value::Map(EntryType(), std::move(entries))}});
  }

  // Refreshes `member` for every workspace in state, one listing per workspace and group shared
  // with every other object; a workspace that is gone leaves the map.
  void Read(const tf::Context& context, const tf::ReadResourceRequest& request,
            tf::ReadResourceResponse& response) const override {
    Services& services = *context.Data<Services>();
    response.new_state = request.state;
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    Value memberships = request.state.GetAttr("memberships");
    if (!memberships.is_known_non_null()) return;
    std::string group = Str(request.state, "group");
    std::string user = Str(request.state, "user_uuid");
    std::vector<std::pair<std::string, Value>> listed(memberships.Entries().begin(),
                                                      memberships.Entries().end());
    std::vector<absl::StatusOr<MemberCache::Members>> found(listed.size());
    ParallelFor(listed.size(), services.max_concurrency, [&](std::size_t i) {
      found[i] = services.members.Get(*bitbucket, listed[i].first, group, context.stop);
    });
    std::map<std::string, Value> entries;
    for (std::size_t i = 0; i < listed.size(); ++i) {
      const auto& [slug, entry] = listed[i];
      if (!found[i].ok()) {
        return AddServiceError(response.diagnostics, "Cannot Read Group Members of " + slug,
                               found[i].status());
      }
      if (!found[i]->has_value()) continue;  // the workspace or its group is gone
      entries[slug] = Entry(Str(entry, "uuid"), HasMember(*found[i], user));
    }
    response.new_state =
        request.state.WithAttr("memberships", Value::Map(EntryType(), std::move(entries)));
  }

  void Delete(const tf::Context& context, const tf::ApplyRequest& request,
              tf::ApplyResponse& response) const override {
    Services& services = *context.Data<Services>();
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    const Value& prior = request.prior_state;
    Value memberships = prior.GetAttr("memberships");
    if (!memberships.is_known_non_null()) return;
    for (const auto& [slug, entry] : memberships.Entries()) {
      Membership m{.workspace_slug = slug,
                   .group = Str(prior, "group"),
                   .user_uuid = Str(prior, "user_uuid"),
                   .user_account_id = Str(prior, "user_account_id")};
      absl::Status removed =
          LeaveGroup(services, *bitbucket, m, context.stop, response.diagnostics);
      if (!removed.ok() && !response.diagnostics.HasError()) {
        AddServiceError(response.diagnostics, "Cannot Remove Group Member in " + slug, removed);
      }
    }
    if (response.diagnostics.HasError()) response.new_state = prior;  // keep what is left
  }

 private:
  // Joins every planned workspace where the user is not a member yet, and leaves every workspace
  // that is no longer planned. The result records what is true afterwards, also on failure, so
  // that state never claims a membership that was not made.
  void Apply(const tf::Context& context, const tf::ApplyRequest& request,
             tf::ApplyResponse& response) const {
    Services& services = *context.Data<Services>();
    clients::BitbucketClient* bitbucket = services.RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    const Value& planned = request.planned_state;
    const Value& prior = request.prior_state;
    Value targets = planned.GetAttr("memberships");
    if (!targets.is_known_non_null()) {
      auto found = Targets(services, request.config, context.stop, response.diagnostics);
      if (!found) return;
      std::map<std::string, Value> entries;
      for (const auto& [slug, uuid] : *found) entries[slug] = Entry(uuid, true);
      targets = Value::Map(EntryType(), std::move(entries));
    }
    std::string group = Str(planned, "group");
    std::optional<Membership> who =
        User(*bitbucket, prior, planned, targets, group, context.stop, response.diagnostics);
    if (!who) return;

    std::map<std::string, Value> result;
    Value before = prior.is_null() ? Value() : prior.GetAttr("memberships");
    for (const auto& [slug, entry] : targets.Entries()) {
      Membership m = *who;
      m.workspace_slug = slug;
      bool already = before.is_known_non_null() && before.Entries().count(slug) &&
                     before.Entries().at(slug).GetAttr("member").AsBool();
      bool member =
          already || JoinGroup(services, *bitbucket, m, context.stop, response.diagnostics);
      result[slug] = Entry(Str(entry, "uuid"), member);
    }
    if (before.is_known_non_null()) {
      for (const auto& [slug, entry] : before.Entries()) {
        if (targets.Entries().count(slug)) continue;
        Membership m = *who;
        m.workspace_slug = slug;
        absl::Status removed =
            LeaveGroup(services, *bitbucket, m, context.stop, response.diagnostics);
        if (!removed.ok()) {
          if (!response.diagnostics.HasError()) {
            AddServiceError(response.diagnostics, "Cannot Remove Group Member in " + slug, removed);
          }
          result[slug] = entry;
        }
      }
    }
    response.new_state =
        planned.WithAttr("id", Value::String(absl::StrCat(group, "/", who->user_uuid)))
            .WithAttr("user_uuid", Value::String(who->user_uuid))
            .WithAttr("user_account_id", Value::String(who->user_account_id))
            .WithAttr("memberships", Value::Map(EntryType(), std::move(result)));
  }

  // The user's UUID and account id: from state when known, else from the first planned
  // workspace's member list.
  static std::optional<Membership> User(clients::BitbucketClient& bitbucket, const Value& prior,
                                        const Value& planned, const Value& targets,
                                        const std::string& group, std::stop_token stop,
                                        tf::Diagnostics& diagnostics) {
    if (!prior.is_null() && !Str(prior, "user_uuid").empty()) {
      return Membership{.group = group,
                        .user_uuid = Str(prior, "user_uuid"),
                        .user_account_id = Str(prior, "user_account_id")};
    }
    if (targets.Entries().empty()) {
      diagnostics.AddError("No Workspaces",
                           "No workspace is planned for this membership: the credential "
                           "administers none, or all are excluded.",
                           AttributePath::Root("workspaces"));
      return std::nullopt;
    }
    return ResolveMembership(bitbucket, targets.Entries().begin()->first, group,
                             Str(planned, "user"), stop, diagnostics);
  }
};

}  // namespace

std::shared_ptr<const tf::Resource> NewBitbucketGroupMemberships() {
  return std::make_shared<GroupMemberships>();
}

}  // namespace arnica::resources
