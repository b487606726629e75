// The planning and apply rules every resource gets from ProviderServer: what the host checks
// (protocol.md §4) must hold whatever a resource does.
#include "provider/tf/server.h"

#include <gtest/gtest.h>

namespace arnica::tf {
namespace {

// A resource whose behaviour each test can bend.
class TestResource final : public Resource {
 public:
  std::function<void(const ApplyRequest&, ApplyResponse&)> on_create;

  std::string TypeName() const override { return "arnica_test"; }
  Schema GetSchema() const override {
    Schema schema;
    schema.block.Add(Attribute::Computed("id", Type::String()).UseStateForUnknown())
        .Add(Attribute::Required("name", Type::String()).RequiresReplace())
        .Add(Attribute::Optional("size", Type::Number()))
        .Add(Attribute::Optional("password", Type::String()).WriteOnly().Sensitive())
        .Add(Attribute::Computed("updated", Type::String()));
    return schema;
  }
  void Create(const Context&, const ApplyRequest& request, ApplyResponse& response) const override {
    if (on_create) return on_create(request, response);
    response.new_state = request.planned_state.WithAttr("id", Value::String("x1"))
                             .WithAttr("updated", Value::String("now"));
  }
  void Read(const Context&, const ReadResourceRequest&, ReadResourceResponse&) const override {}
  void Update(const Context&, const ApplyRequest& request, ApplyResponse& response) const override {
    response.new_state = request.planned_state.WithAttr("updated", Value::String("later"));
  }
  void Delete(const Context&, const ApplyRequest&, ApplyResponse&) const override {}
};

class TestProvider final : public Provider {
 public:
  Schema GetSchema() const override { return {}; }
  void Configure(const ConfigureRequest&, ConfigureResponse&) override {}
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    auto provider = std::make_shared<TestProvider>();
    resource_ = std::make_shared<TestResource>();
    provider->AddResource(resource_);
    server_ = std::make_unique<ProviderServer>(provider);
    type_ = resource_->GetSchema().block.ImpliedType();
  }

  Value Object(std::map<std::string, Value> attributes) const {
    return Value::Object(type_, std::move(attributes));
  }
  Value Stored() const {
    return Object({{"id", Value::String("x1")},
                   {"name", Value::String("a")},
                   {"size", Value::Number(3)},
                   {"updated", Value::String("now")}});
  }
  PlanResponse Plan(const Value& prior, const Value& config) const {
    // The host's proposed state: config, with computed attributes the config leaves null taken
    // from the prior state.
    Value proposed = config;
    if (!prior.is_null() && !config.is_null()) {
      for (const char* computed : {"id", "updated"}) {
        proposed = proposed.WithAttr(computed, prior.GetAttr(computed));
      }
    }
    return server_->PlanResourceChange("arnica_test", {prior, proposed, config, ""}, std::nullopt);
  }

  std::shared_ptr<TestResource> resource_;
  std::unique_ptr<ProviderServer> server_;
  Type type_;
};

TEST_F(ServerTest, CreatePlansComputedAsUnknownAndWriteOnlyAsNull) {
  Value config = Object({{"name", Value::String("a")}, {"password", Value::String("hunter2")}});
  PlanResponse plan = Plan(Value::Null(type_), config);
  ASSERT_FALSE(plan.diagnostics.HasError());
  EXPECT_TRUE(plan.planned_state.GetAttr("id").is_unknown());
  EXPECT_TRUE(plan.planned_state.GetAttr("updated").is_unknown());
  EXPECT_TRUE(plan.planned_state.GetAttr("password").is_null());
  EXPECT_TRUE(plan.requires_replace.empty());
}

TEST_F(ServerTest, NoChangeKeepsThePriorStateExactly) {
  Value config = Object({{"name", Value::String("a")}, {"size", Value::Number(3)}});
  PlanResponse plan = Plan(Stored(), config);
  EXPECT_EQ(plan.planned_state, Stored());
  EXPECT_TRUE(plan.requires_replace.empty());
}

TEST_F(ServerTest, UpdateKeepsIdButRecomputesOtherComputedValues) {
  Value config = Object({{"name", Value::String("a")}, {"size", Value::Number(4)}});
  PlanResponse plan = Plan(Stored(), config);
  EXPECT_EQ(plan.planned_state.GetAttr("id"), Value::String("x1"));  // use_state_for_unknown
  EXPECT_TRUE(plan.planned_state.GetAttr("updated").is_unknown());
  EXPECT_TRUE(plan.requires_replace.empty());  // size does not force replacement
}

TEST_F(ServerTest, ReplacementOnlyWhenARequiresReplaceAttributeReallyChanges) {
  Value renamed = Object({{"name", Value::String("b")}, {"size", Value::Number(3)}});
  PlanResponse plan = Plan(Stored(), renamed);
  ASSERT_EQ(plan.requires_replace.size(), 1u);
  EXPECT_EQ(plan.requires_replace[0], AttributePath::Root("name"));

  // The host's second call for a replace has no prior state: an ordinary create.
  PlanResponse second = Plan(Value::Null(type_), renamed);
  EXPECT_TRUE(second.requires_replace.empty());
  EXPECT_TRUE(second.planned_state.GetAttr("id").is_unknown());
}

TEST_F(ServerTest, DestroyPlansNull) {
  PlanResponse plan = server_->PlanResourceChange(
      "arnica_test", {Stored(), Value::Null(type_), Value::Null(type_), ""}, std::nullopt);
  EXPECT_TRUE(plan.planned_state.is_null());
}

TEST_F(ServerTest, ApplyNeverReturnsWriteOnlyValues) {
  resource_->on_create = [](const ApplyRequest& request, ApplyResponse& response) {
    // A careless resource echoing the config, secret included.
    response.new_state = request.config.WithAttr("id", Value::String("x1"))
                             .WithAttr("updated", Value::String("now"));
  };
  Value config = Object({{"name", Value::String("a")}, {"password", Value::String("hunter2")}});
  PlanResponse plan = Plan(Value::Null(type_), config);
  ApplyResponse applied = server_->ApplyResourceChange(
      "arnica_test", {Value::Null(type_), plan.planned_state, config, ""});
  ASSERT_FALSE(applied.diagnostics.HasError());
  EXPECT_TRUE(applied.new_state.GetAttr("password").is_null());
  EXPECT_EQ(applied.new_state.GetAttr("id"), Value::String("x1"));
}

TEST_F(ServerTest, FailedCreateLeavesNothingInState) {
  resource_->on_create = [](const ApplyRequest& request, ApplyResponse& response) {
    response.new_state = request.planned_state;  // half-built
    response.diagnostics.AddError("Remote Refused", "no");
  };
  Value config = Object({{"name", Value::String("a")}});
  ApplyResponse applied = server_->ApplyResourceChange(
      "arnica_test",
      {Value::Null(type_), Plan(Value::Null(type_), config).planned_state, config, ""});
  EXPECT_TRUE(applied.diagnostics.HasError());
  EXPECT_TRUE(applied.new_state.is_null());
}

TEST_F(ServerTest, AnUnknownLeftAfterApplyIsAnErrorNotAStateEntry) {
  resource_->on_create = [](const ApplyRequest& request, ApplyResponse& response) {
    response.new_state = request.planned_state;  // forgot to fill id and updated
  };
  Value config = Object({{"name", Value::String("a")}});
  ApplyResponse applied = server_->ApplyResourceChange(
      "arnica_test",
      {Value::Null(type_), Plan(Value::Null(type_), config).planned_state, config, ""});
  ASSERT_TRUE(applied.diagnostics.HasError());
  EXPECT_TRUE(applied.new_state.is_null());
}

TEST_F(ServerTest, WriteOnlyNeedsAHostThatSupportsIt) {
  Value config = Object({{"name", Value::String("a")}, {"password", Value::String("p")}});
  Diagnostics old_host = server_->ValidateResourceConfig("arnica_test", {config, {}});
  ASSERT_TRUE(old_host.HasError());
  EXPECT_EQ(old_host.items()[0].summary, "Write-Only Attributes Not Supported");
  ClientCapabilities capable;
  capable.write_only_attributes_allowed = true;
  EXPECT_FALSE(server_->ValidateResourceConfig("arnica_test", {config, capable}).HasError());
}

TEST_F(ServerTest, RequiredAttributeSetToNullIsRefusedAtValidation) {
  // Regression: `name = null` passed validate and plan and failed inside create.
  ClientCapabilities capable;
  capable.write_only_attributes_allowed = true;
  Diagnostics diagnostics = server_->ValidateResourceConfig(
      "arnica_test", {Object({{"size", Value::Number(1)}}), capable});
  ASSERT_TRUE(diagnostics.HasError());
  EXPECT_EQ(diagnostics.items()[0].summary, "Missing Required Attribute");
  EXPECT_EQ(diagnostics.items()[0].attribute, AttributePath::Root("name"));
  // Unknown is fine: it is known by apply.
  Value unknown_name = Object({{"name", Value::Unknown(Type::String())}});
  EXPECT_FALSE(server_->ValidateResourceConfig("arnica_test", {unknown_name, capable}).HasError());
}

TEST_F(ServerTest, InfiniteNumbersAreRefusedBeforeTheyReachState) {
  // Regression: `size = 1/0` was created, then the host could not write the state file.
  ClientCapabilities capable;
  Value config =
      Object({{"name", Value::String("a")}, {"size", Value::Number(Decimal::Infinity(false))}});
  Diagnostics diagnostics = server_->ValidateResourceConfig("arnica_test", {config, capable});
  ASSERT_TRUE(diagnostics.HasError());
  EXPECT_EQ(diagnostics.items()[0].summary, "Number Out Of Range");
  EXPECT_EQ(diagnostics.items()[0].attribute, AttributePath::Root("size"));
}

TEST_F(ServerTest, UnknownTypeIsNamedInTheDiagnostic) {
  Diagnostics diagnostics = server_->ValidateResourceConfig("arnica_nope", {Value(), {}});
  ASSERT_TRUE(diagnostics.HasError());
  EXPECT_NE(diagnostics.items()[0].detail.find("arnica_nope"), std::string::npos);
}

TEST_F(ServerTest, UpgradeFillsMissingAttributesAndRefusesNewerState) {
  ProviderServer::Upgraded current =
      server_->UpgradeResourceState("arnica_test", 0, R"({"id":"x1","name":"a","gone":1})");
  ASSERT_FALSE(current.diagnostics.HasError());
  EXPECT_TRUE(current.state.GetAttr("size").is_null());
  EXPECT_EQ(current.state.GetAttr("name"), Value::String("a"));
  ProviderServer::Upgraded newer = server_->UpgradeResourceState("arnica_test", 7, "{}");
  ASSERT_TRUE(newer.diagnostics.HasError());
  EXPECT_NE(newer.diagnostics.items()[0].detail.find("newer"), std::string::npos);
}

TEST(Schema, BadNamesAndFlagCombinationsAreReported) {
  class Bad final : public Provider {
   public:
    Schema GetSchema() const override {
      Schema schema;
      schema.block.Add(Attribute::Required("Bad-Name", Type::String()));
      Attribute both = Attribute::Required("both", Type::String());
      both.computed = true;
      schema.block.Add(both);
      return schema;
    }
    void Configure(const ConfigureRequest&, ConfigureResponse&) override {}
  };
  ProviderServer server(std::make_shared<Bad>());
  EXPECT_EQ(server.schema_diagnostics().size(), 2u);
}

}  // namespace
}  // namespace arnica::tf
