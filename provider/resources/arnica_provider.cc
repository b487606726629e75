#include "provider/resources/arnica_provider.h"

namespace arnica::resources {
namespace {

class ArnicaProvider final : public tf::Provider {
 public:
  tf::Schema GetSchema() const override {
    tf::Schema schema;
    schema.block.Describe(
        "Onboards Bitbucket Cloud workspaces into Arnica: the service account's group "
        "memberships, its scoped API token, and Arnica's Bitbucket Cloud integration.");
    // TODO(#4): the bitbucket, atlassian_admin and arnica blocks that configure the clients in
    // provider/clients; they arrive with the first objects that use them.
    return schema;
  }

  void Configure(const tf::ConfigureRequest&, tf::ConfigureResponse&) override {}
};

}  // namespace

std::shared_ptr<tf::Provider> NewArnicaProvider() { return std::make_shared<ArnicaProvider>(); }

}  // namespace arnica::resources
