#include "provider/resources/bitbucket_workspaces.h"

#include "provider/resources/services.h"

namespace arnica::resources {
namespace {

using tf::Attribute;
using tf::Type;
using tf::Value;

Type WorkspaceType() {
  return Type::Object({{"slug", Type::String()},
                       {"uuid", Type::String()},
                       {"administrator", Type::Bool()},
                       {"admin_managed", Type::Bool()}});
}

class BitbucketWorkspaces final : public tf::DataSource {
 public:
  std::string TypeName() const override { return "arnica_bitbucket_workspaces"; }

  tf::Schema GetSchema() const override {
    tf::Schema schema;
    schema.block
        .Describe(
            "Every Bitbucket Cloud workspace the configured credential can see "
            "(`GET /2.0/user/workspaces`, read to the last page), in slug order. A listing that "
            "fails part-way is an error, never a shorter list.")
        .Add(Attribute::Optional("administrator", Type::Bool())
                 .Describe("Keep only the workspaces the credential's account administers "
                           "(`true`) or does not (`false`)."))
        .Add(Attribute::Computed("workspaces", Type::List(WorkspaceType()))
                 .Describe("`slug`, `uuid` (braced), `administrator` (the account administers "
                           "it), `admin_managed` (administered in admin.atlassian.com, where "
                           "group changes go through the Atlassian Admin API)."));
    return schema;
  }

  void Read(const tf::Context& context, const Value& config,
            tf::ReadDataResponse& response) const override {
    const Services* services = context.Data<Services>();
    clients::BitbucketClient* bitbucket = services->RequireBitbucket(response.diagnostics);
    if (bitbucket == nullptr) return;
    Value filter = config.GetAttr("administrator");
    std::optional<bool> administrator;
    if (filter.is_known_non_null()) administrator = filter.AsBool();

    auto listed = bitbucket->ListUserWorkspaces(administrator, context.stop);
    if (!listed.ok()) {
      return AddServiceError(response.diagnostics, "Cannot List Bitbucket Workspaces",
                             listed.status());
    }
    std::vector<Value> workspaces;
    for (const auto& access : *listed) {
      // Only the caller's membership says whether admin.atlassian.com administers a workspace.
      auto membership = bitbucket->GetUserWorkspacePermission(access.slug, context.stop);
      if (!membership.ok()) {
        return AddServiceError(response.diagnostics,
                               "Cannot Read Bitbucket Workspace " + access.slug,
                               membership.status());
      }
      workspaces.push_back(Value::Object(
          WorkspaceType(), {{"slug", Value::String(access.slug)},
                            {"uuid", Value::String(access.uuid)},
                            {"administrator", Value::Bool(access.administrator)},
                            {"admin_managed", Value::Bool(!membership->has_access_dates)}}));
    }
    response.state = Value::Object(
        GetSchema().block.ImpliedType(),
        {{"administrator", filter}, {"workspaces", Value::List(WorkspaceType(), workspaces)}});
  }
};

}  // namespace

std::shared_ptr<const tf::DataSource> NewBitbucketWorkspaces() {
  return std::make_shared<BitbucketWorkspaces>();
}

}  // namespace arnica::resources
