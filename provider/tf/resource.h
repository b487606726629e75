// The interfaces each Terraform object implements: one C++ class per managed resource, data
// source or function, and one for the provider itself. They see only our value, schema and
// diagnostic types; the protocol layer (provider/protocol) converts to and from the wire, and
// the ProviderServer (server.h) applies the host's planning rules around them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "provider/tf/diagnostics.h"
#include "provider/tf/schema.h"
#include "provider/tf/value.h"

namespace arnica::tf {

struct ClientCapabilities {
  bool deferral_allowed = false;
  bool write_only_attributes_allowed = false;
};

// What every call on a configured object receives. `provider_data` is whatever the provider's
// Configure produced (null before configuration); `stop` fires when the host asks the provider
// to stop, and long operations must return promptly once it does.
struct Context {
  std::shared_ptr<void> provider_data;
  std::stop_token stop;

  template <typename T>
  T* Data() const {
    return static_cast<T*>(provider_data.get());
  }
};

// --- Managed resources -------------------------------------------------------------------------

struct ValidateResourceRequest {
  Value config;
  ClientCapabilities capabilities;
};

struct ReadResourceRequest {
  Value state;
  std::string private_state;
  std::optional<Value> identity;
};

struct ReadResourceResponse {
  Value new_state;  // null: the object is gone
  std::string private_state;
  std::optional<Value> identity;  // the framework derives it with IdentityOf when left empty
  Diagnostics diagnostics;
};

struct PlanRequest {
  Value prior_state;  // null on create (and on the second call of a replace)
  Value proposed_state;
  Value config;
  std::string prior_private;
};

struct PlanResponse {
  Value planned_state;
  std::vector<AttributePath> requires_replace;
  std::string planned_private;
  std::optional<Value> planned_identity;
  Diagnostics diagnostics;
};

struct ApplyRequest {
  Value prior_state;    // null on create
  Value planned_state;  // null on delete
  Value config;         // holds write-only values; null on delete
  std::string planned_private;
};

struct ApplyResponse {
  Value new_state;
  std::string private_state;
  std::optional<Value> identity;
  Diagnostics diagnostics;
};

struct ImportRequest {
  std::string id;                 // empty when importing by identity
  std::optional<Value> identity;  // set when importing by identity
};

struct ImportResponse {
  Value state;  // may be partial; the host reads it right after
  std::string private_state;
  std::optional<Value> identity;
  Diagnostics diagnostics;
};

class Resource {
 public:
  virtual ~Resource() = default;

  // The full type name, e.g. "arnica_bitbucket_group_membership".
  virtual std::string TypeName() const = 0;
  virtual Schema GetSchema() const = 0;
  // Resources that support identity return its schema and derive it from state.
  virtual std::optional<IdentitySchema> GetIdentitySchema() const { return std::nullopt; }
  virtual std::optional<Value> IdentityOf(const Value& state) const { return std::nullopt; }

  virtual void Validate(const ValidateResourceRequest& request, Diagnostics& diagnostics) const {}
  // Runs after the framework's default plan; may refine planned_state and requires_replace.
  virtual void ModifyPlan(const Context& context, const PlanRequest& request,
                          PlanResponse& response) const {}
  virtual void Create(const Context& context, const ApplyRequest& request,
                      ApplyResponse& response) const = 0;
  virtual void Read(const Context& context, const ReadResourceRequest& request,
                    ReadResourceResponse& response) const = 0;
  virtual void Update(const Context& context, const ApplyRequest& request,
                      ApplyResponse& response) const = 0;
  virtual void Delete(const Context& context, const ApplyRequest& request,
                      ApplyResponse& response) const = 0;
  // The default refuses import with a diagnostic.
  virtual void Import(const Context& context, const ImportRequest& request,
                      ImportResponse& response) const;
  // Upgrades stored JSON state written at `version` to the current schema. The default accepts
  // the current version only.
  virtual absl::StatusOr<Value> UpgradeState(int64_t version, const std::string& json) const;
};

// --- Data sources ------------------------------------------------------------------------------

struct ReadDataResponse {
  Value state;
  Diagnostics diagnostics;
};

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual std::string TypeName() const = 0;
  virtual Schema GetSchema() const = 0;
  virtual void Validate(const Value& config, Diagnostics& diagnostics) const {}
  // `config` is wholly known. The response must be wholly known and conform to the schema.
  virtual void Read(const Context& context, const Value& config,
                    ReadDataResponse& response) const = 0;
};

// --- Provider functions ------------------------------------------------------------------------

struct FunctionParameter {
  std::string name;
  Type type;
  bool allow_null = false;
  bool allow_unknown = false;
  std::string description;
};

struct FunctionSignature {
  std::vector<FunctionParameter> parameters;
  std::optional<FunctionParameter> variadic;
  Type return_type;
  std::string summary;
  std::string description;  // Markdown
};

struct FunctionError {
  std::string text;
  std::optional<int64_t> argument;  // index of the offending argument
};

class Function {
 public:
  virtual ~Function() = default;
  // The bare name: users call provider::arnica::<name>(...).
  virtual std::string Name() const = 0;
  virtual FunctionSignature Signature() const = 0;
  // Functions may run on an unconfigured provider; they must not need provider data.
  virtual std::variant<Value, FunctionError> Call(const std::vector<Value>& arguments) const = 0;
};

// --- The provider ------------------------------------------------------------------------------

struct ConfigureRequest {
  Value config;  // may hold unknown values during plan
  std::string terraform_version;
  ClientCapabilities capabilities;
};

struct ConfigureResponse {
  std::shared_ptr<void> provider_data;
  Diagnostics diagnostics;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual Schema GetSchema() const = 0;
  virtual void ValidateConfig(const Value& config, Diagnostics& diagnostics) const {}
  virtual void Configure(const ConfigureRequest& request, ConfigureResponse& response) = 0;

  void AddResource(std::shared_ptr<const Resource> resource);
  void AddDataSource(std::shared_ptr<const DataSource> data_source);
  void AddFunction(std::shared_ptr<const Function> function);

  const std::vector<std::shared_ptr<const Resource>>& resources() const { return resources_; }
  const std::vector<std::shared_ptr<const DataSource>>& data_sources() const {
    return data_sources_;
  }
  const std::vector<std::shared_ptr<const Function>>& functions() const { return functions_; }

 private:
  std::vector<std::shared_ptr<const Resource>> resources_;
  std::vector<std::shared_ptr<const DataSource>> data_sources_;
  std::vector<std::shared_ptr<const Function>> functions_;
};

}  // namespace arnica::tf
