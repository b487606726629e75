#include "provider/tf/server.h"

#include <regex>

#include "provider/tf/codec.h"

namespace arnica::tf {
namespace {

void CheckNames(const Block& block, const std::string& where, Diagnostics& diagnostics) {
  static const std::regex kName("^[a-z0-9_]+$");
  for (const Attribute& attribute : block.attributes) {
    std::string at = where + "." + attribute.name;
    if (!std::regex_match(attribute.name, kName)) {
      diagnostics.AddError("Invalid Schema", at + ": names must match [a-z0-9_]+.");
    }
    bool valid_flags = (attribute.required && !attribute.optional && !attribute.computed) ||
                       (!attribute.required && (attribute.optional || attribute.computed));
    if (!valid_flags) {
      diagnostics.AddError("Invalid Schema",
                           at + ": an attribute is required, optional, computed, or optional "
                                "and computed.");
    }
    if (attribute.write_only && attribute.computed) {
      diagnostics.AddError("Invalid Schema", at + ": a write-only attribute cannot be computed.");
    }
  }
  for (const NestedBlock& nested : block.block_types) {
    CheckNames(*nested.block, where + "." + nested.type_name, diagnostics);
  }
}

bool HasWriteOnlyValue(const Block& block, const Value& config) {
  if (!config.is_known_non_null()) return false;
  for (const Attribute& attribute : block.attributes) {
    if (attribute.write_only && !config.GetAttr(attribute.name).is_null()) return true;
  }
  return false;
}

void CheckRequired(const Block& block, const Value& config, const AttributePath& path,
                   Diagnostics& diagnostics);

// Applies `check` to each object inside a nested attribute or block value, with its path. Set
// elements have no path step of their own, so they share the set's path.
template <typename Check>
void EachNested(Nesting nesting, const Value& value, const AttributePath& path, Check check) {
  if (!value.is_known_non_null()) return;
  switch (nesting) {
    case Nesting::kSingle:
    case Nesting::kGroup:
      return check(value, path);
    case Nesting::kList:
      for (size_t i = 0; i < value.Elements().size(); ++i) {
        check(value.Elements()[i], path.Index(static_cast<int64_t>(i)));
      }
      return;
    case Nesting::kSet:
      for (const Value& element : value.Elements()) check(element, path);
      return;
    case Nesting::kMap:
      for (const auto& [key, element] : value.Entries()) check(element, path.Key(key));
      return;
  }
}

// The host accepts `name = null` (or a variable that is null) for a required attribute; the
// provider must refuse it, or the null surfaces later as a failed create.
void CheckRequired(const Block& block, const Value& config, const AttributePath& path,
                   Diagnostics& diagnostics) {
  if (!config.is_known_non_null()) return;
  for (const Attribute& attribute : block.attributes) {
    Value value = config.GetAttr(attribute.name);
    AttributePath at = path.Attr(attribute.name);
    if (attribute.required && value.is_null()) {
      diagnostics.AddError("Missing Required Attribute",
                           "The argument \"" + attribute.name +
                               "\" is required, but its value is null. Set it to a value; if it "
                               "comes from a variable, give that variable a non-null value.",
                           at);
    } else if (attribute.nested) {
      Block inner;
      inner.attributes = attribute.nested->attributes;
      EachNested(attribute.nested->nesting, value, at,
                 [&](const Value& element, const AttributePath& element_path) {
                   CheckRequired(inner, element, element_path, diagnostics);
                 });
    }
  }
  for (const NestedBlock& nested : block.block_types) {
    EachNested(nested.nesting, config.GetAttr(nested.type_name), path.Attr(nested.type_name),
               [&](const Value& element, const AttributePath& element_path) {
                 CheckRequired(*nested.block, element, element_path, diagnostics);
               });
  }
}

Diagnostics UnknownType(const std::string& kind, const std::string& type) {
  Diagnostics diagnostics;
  diagnostics.AddError("Unknown " + kind + " Type",
                       "This provider has no " + kind + " named \"" + type +
                           "\". Check the name for typos, and check that the configuration pins a "
                           "provider version that has it.");
  return diagnostics;
}

}  // namespace

ProviderServer::ProviderServer(std::shared_ptr<Provider> provider)
    : provider_(std::move(provider)) {
  provider_schema_ = provider_->GetSchema();
  CheckNames(provider_schema_.block, "provider", schema_diagnostics_);
  for (const auto& resource : provider_->resources()) {
    std::string type = resource->TypeName();
    resources_[type] = resource;
    resource_schemas_[type] = resource->GetSchema();
    CheckNames(resource_schemas_[type].block, type, schema_diagnostics_);
    if (auto identity = resource->GetIdentitySchema()) identity_schemas_[type] = *identity;
  }
  for (const auto& data_source : provider_->data_sources()) {
    std::string type = data_source->TypeName();
    data_sources_[type] = data_source;
    data_schemas_[type] = data_source->GetSchema();
    CheckNames(data_schemas_[type].block, type, schema_diagnostics_);
  }
  for (const auto& function : provider_->functions()) {
    functions_[function->Name()] = function;
    signatures_[function->Name()] = function->Signature();
  }
}

Context ProviderServer::CurrentContext() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return Context{provider_data_, stop_.get_token()};
}

const Resource* ProviderServer::FindResource(const std::string& type,
                                             Diagnostics& diagnostics) const {
  auto found = resources_.find(type);
  if (found != resources_.end()) return found->second.get();
  diagnostics.Append(UnknownType("Resource", type));
  return nullptr;
}

const DataSource* ProviderServer::FindDataSource(const std::string& type,
                                                 Diagnostics& diagnostics) const {
  auto found = data_sources_.find(type);
  if (found != data_sources_.end()) return found->second.get();
  diagnostics.Append(UnknownType("Data Source", type));
  return nullptr;
}

const Schema* ProviderServer::FindResourceSchema(const std::string& type,
                                                 Diagnostics& diagnostics) const {
  return FindResource(type, diagnostics) ? &resource_schemas_.at(type) : nullptr;
}

const Schema* ProviderServer::FindDataSourceSchema(const std::string& type,
                                                   Diagnostics& diagnostics) const {
  return FindDataSource(type, diagnostics) ? &data_schemas_.at(type) : nullptr;
}

std::optional<Value> ProviderServer::IdentityFor(const Resource& resource,
                                                 const Value& state) const {
  if (!identity_schemas_.count(resource.TypeName()) || !state.is_known_non_null()) {
    return std::nullopt;
  }
  return resource.IdentityOf(state);
}

Diagnostics ProviderServer::ValidateProviderConfig(const Value& config) const {
  Diagnostics diagnostics;
  CheckRequired(provider_schema_.block, config, AttributePath(), diagnostics);
  if (diagnostics.HasError()) return diagnostics;
  provider_->ValidateConfig(config, diagnostics);
  return diagnostics;
}

Diagnostics ProviderServer::ConfigureProvider(const ConfigureRequest& request) {
  ConfigureResponse response;
  provider_->Configure(request, response);
  if (!response.diagnostics.HasError()) {
    std::lock_guard<std::mutex> lock(mutex_);
    provider_data_ = response.provider_data;
  }
  return response.diagnostics;
}

Diagnostics ProviderServer::ValidateResourceConfig(const std::string& type,
                                                   const ValidateResourceRequest& request) const {
  Diagnostics diagnostics;
  const Resource* resource = FindResource(type, diagnostics);
  if (resource == nullptr) return diagnostics;
  const Block& block = resource_schemas_.at(type).block;
  if (!request.capabilities.write_only_attributes_allowed &&
      HasWriteOnlyValue(block, request.config)) {
    diagnostics.AddError(
        "Write-Only Attributes Not Supported",
        "This configuration sets a write-only attribute, which needs OpenTofu 1.11 or "
        "Terraform 1.11 or newer. Upgrade the host, or use the attribute's sensitive "
        "alternative, which is kept in state.");
  }
  CheckRequired(block, request.config, AttributePath(), diagnostics);
  planning::CheckFinite(request.config, AttributePath(), diagnostics);
  if (diagnostics.HasError()) return diagnostics;
  resource->Validate(request, diagnostics);
  return diagnostics;
}

Diagnostics ProviderServer::ValidateDataResourceConfig(const std::string& type,
                                                       const Value& config) const {
  Diagnostics diagnostics;
  const DataSource* data_source = FindDataSource(type, diagnostics);
  if (data_source == nullptr) return diagnostics;
  CheckRequired(data_schemas_.at(type).block, config, AttributePath(), diagnostics);
  if (!diagnostics.HasError()) data_source->Validate(config, diagnostics);
  return diagnostics;
}

ProviderServer::Upgraded ProviderServer::UpgradeResourceState(const std::string& type,
                                                              int64_t version,
                                                              const std::string& json) const {
  Upgraded out;
  const Resource* resource = FindResource(type, out.diagnostics);
  if (resource == nullptr) return out;
  const Schema& schema = resource_schemas_.at(type);
  absl::StatusOr<Value> upgraded = resource->UpgradeState(version, json);
  if (!upgraded.ok()) {
    out.diagnostics.AddError("Unable To Read Stored State",
                             "The state stored for this " + type +
                                 " could not be read: " + std::string(upgraded.status().message()) +
                                 ". If the state was written by a newer provider version, use "
                                 "that version again.");
    return out;
  }
  out.state = planning::NullWriteOnly(schema.block, *upgraded);
  planning::CheckResult(schema.block, out.state, false, "upgraded state", out.diagnostics);
  return out;
}

ReadResourceResponse ProviderServer::ReadResource(const std::string& type,
                                                  const ReadResourceRequest& request) const {
  ReadResourceResponse response;
  const Resource* resource = FindResource(type, response.diagnostics);
  if (resource == nullptr) return response;
  const Block& block = resource_schemas_.at(type).block;
  response.new_state = request.state;
  response.private_state = request.private_state;
  resource->Read(CurrentContext(), request, response);
  response.new_state = planning::NullWriteOnly(block, response.new_state);
  planning::CheckResult(block, response.new_state, false, "refreshed state", response.diagnostics);
  if (!response.identity) response.identity = IdentityFor(*resource, response.new_state);
  if (!response.identity && response.new_state.is_known_non_null()) {
    response.identity = request.identity;
  }
  return response;
}

PlanResponse ProviderServer::PlanResourceChange(const std::string& type, const PlanRequest& request,
                                                const std::optional<Value>& prior_identity) const {
  PlanResponse response;
  const Resource* resource = FindResource(type, response.diagnostics);
  if (resource == nullptr) return response;
  const Block& block = resource_schemas_.at(type).block;
  response.planned_private = request.prior_private;
  if (request.proposed_state.is_null()) {  // destroy
    response.planned_state = request.proposed_state;
    return response;
  }

  Value planned = planning::NullWriteOnly(block, request.proposed_state);
  bool no_change = !request.prior_state.is_null() && planned == request.prior_state;
  if (!no_change) {
    planned = planning::MarkComputedUnknown(block, planned, request.config, request.prior_state);
  }
  response.planned_state = planned;
  response.requires_replace = planning::ReplacePaths(block, request.prior_state, planned);
  resource->ModifyPlan(CurrentContext(), request, response);
  response.planned_state = planning::NullWriteOnly(block, response.planned_state);

  if (identity_schemas_.count(type)) {
    std::optional<Value> identity = IdentityFor(*resource, response.planned_state);
    if (identity && identity->IsWhollyKnown()) {
      response.planned_identity = identity;
    } else if (prior_identity && !request.prior_state.is_null()) {
      response.planned_identity = prior_identity;
    }
    // Otherwise (a create whose identity is not known yet) no planned identity is sent at all:
    // OpenTofu 1.12 writes planned identities into its working state as JSON, which cannot hold
    // an unknown, and fails the whole plan with "value is not known" if given one.
  }
  return response;
}

ApplyResponse ProviderServer::ApplyResourceChange(const std::string& type,
                                                  const ApplyRequest& request) const {
  ApplyResponse response;
  const Resource* resource = FindResource(type, response.diagnostics);
  if (resource == nullptr) return response;
  const Schema& schema = resource_schemas_.at(type);
  Type object_type = schema.block.ImpliedType();
  Context context = CurrentContext();
  response.private_state = request.planned_private;

  if (request.planned_state.is_null()) {
    response.new_state = request.prior_state;
    resource->Delete(context, request, response);
    if (!response.diagnostics.HasError()) response.new_state = Value::Null(object_type);
    return response;
  }
  if (request.prior_state.is_null()) {
    response.new_state = Value::Null(object_type);
    resource->Create(context, request, response);
  } else {
    response.new_state = request.prior_state;
    resource->Update(context, request, response);
  }
  response.new_state = planning::NullWriteOnly(schema.block, response.new_state);
  Diagnostics problems;
  planning::CheckResult(schema.block, response.new_state, false, "the applied state", problems);
  if (problems.HasError()) {
    // Keep what was there before rather than store something the host would reject.
    response.new_state = request.prior_state;
    response.diagnostics.Append(problems);
  }
  if (!response.identity) response.identity = IdentityFor(*resource, response.new_state);
  return response;
}

ImportResponse ProviderServer::ImportResourceState(const std::string& type,
                                                   const ImportRequest& request) const {
  ImportResponse response;
  const Resource* resource = FindResource(type, response.diagnostics);
  if (resource == nullptr) return response;
  const Schema& schema = resource_schemas_.at(type);
  response.state = Value::Null(schema.block.ImpliedType());
  if (request.identity && identity_schemas_.count(type)) {
    for (const IdentityAttribute& attribute : identity_schemas_.at(type).attributes) {
      if (attribute.required_for_import &&
          !request.identity->GetAttr(attribute.name).IsWhollyKnown()) {
        response.diagnostics.AddError("Incomplete Import Identity",
                                      "The identity attribute \"" + attribute.name +
                                          "\" is needed to import " + type +
                                          ", and it must be a known value.",
                                      AttributePath::Root(attribute.name));
      } else if (attribute.required_for_import &&
                 request.identity->GetAttr(attribute.name).is_null()) {
        response.diagnostics.AddError("Incomplete Import Identity",
                                      "The identity attribute \"" + attribute.name +
                                          "\" is needed to import " + type +
                                          "; set it to the object's " + attribute.name + ".",
                                      AttributePath::Root(attribute.name));
      }
    }
    if (response.diagnostics.HasError()) return response;
  }
  resource->Import(CurrentContext(), request, response);
  if (response.diagnostics.HasError()) return response;
  response.state = planning::NullWriteOnly(schema.block, response.state);
  planning::CheckResult(schema.block, response.state, false, "the imported state",
                        response.diagnostics);
  if (response.diagnostics.HasError()) return response;
  if (!response.identity) response.identity = IdentityFor(*resource, response.state);
  if (!response.identity) response.identity = request.identity;
  return response;
}

ReadDataResponse ProviderServer::ReadDataSource(const std::string& type,
                                                const Value& config) const {
  ReadDataResponse response;
  const DataSource* data_source = FindDataSource(type, response.diagnostics);
  if (data_source == nullptr) return response;
  const Block& block = data_schemas_.at(type).block;
  response.state = config;
  data_source->Read(CurrentContext(), config, response);
  if (response.diagnostics.HasError()) return response;
  planning::CheckResult(block, response.state, false, "data source results", response.diagnostics);
  return response;
}

std::variant<Value, FunctionError> ProviderServer::CallFunction(
    const std::string& name, const std::vector<Value>& arguments) const {
  auto found = functions_.find(name);
  if (found == functions_.end()) {
    return FunctionError{"This provider has no function named \"" + name + "\".", std::nullopt};
  }
  const FunctionSignature& signature = signatures_.at(name);
  size_t fixed = signature.parameters.size();
  if (arguments.size() < fixed || (!signature.variadic && arguments.size() > fixed)) {
    return FunctionError{"provider::arnica::" + name + " takes " + std::to_string(fixed) +
                             " argument(s), not " + std::to_string(arguments.size()) + ".",
                         std::nullopt};
  }
  return found->second->Call(arguments);
}

void ProviderServer::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stop_.request_stop();
}

void Provider::AddResource(std::shared_ptr<const Resource> resource) {
  resources_.push_back(std::move(resource));
}

void Provider::AddDataSource(std::shared_ptr<const DataSource> data_source) {
  data_sources_.push_back(std::move(data_source));
}

void Provider::AddFunction(std::shared_ptr<const Function> function) {
  functions_.push_back(std::move(function));
}

void Resource::Import(const Context&, const ImportRequest&, ImportResponse& response) const {
  response.diagnostics.AddError(
      "Import Not Supported",
      "Resources of type " + TypeName() + " cannot be imported; declare them and apply instead.");
}

absl::StatusOr<Value> Resource::UpgradeState(int64_t version, const std::string& json) const {
  Schema schema = GetSchema();
  if (version > schema.version) {
    return absl::FailedPreconditionError("it was written with schema version " +
                                         std::to_string(version) + ", newer than this provider's " +
                                         std::to_string(schema.version));
  }
  if (version < schema.version) {
    return absl::UnimplementedError("no upgrade from schema version " + std::to_string(version));
  }
  return DecodeJson(json, schema.block.ImpliedType(), /*ignore_unknown_attributes=*/true);
}

}  // namespace arnica::tf
