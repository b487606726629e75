// ProviderServer: every RPC of the protocol expressed in our own types, with the rules the host
// enforces applied once for all objects (see ../shared/reference/protocol.md §4):
//   - plan: computed values that will change become unknown, a no-op keeps the prior state,
//     write-only values are null, replacement is requested only on real change, and the second
//     plan call of a replace is an ordinary create;
//   - apply: create, update or delete by the shape of the request; results are wholly known and
//     never carry write-only values; a failed create leaves nothing in state;
//   - read, import, upgrade, data sources and functions with the matching checks.
// The protocol layer converts wire messages and calls these methods. Thread-safe: the host calls
// RPCs concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <variant>
#include <vector>

#include "provider/tf/resource.h"

namespace arnica::tf {

class ProviderServer {
 public:
  explicit ProviderServer(std::shared_ptr<Provider> provider);

  const Schema& provider_schema() const { return provider_schema_; }
  const std::map<std::string, Schema>& resource_schemas() const { return resource_schemas_; }
  const std::map<std::string, Schema>& data_source_schemas() const { return data_schemas_; }
  const std::map<std::string, IdentitySchema>& identity_schemas() const {
    return identity_schemas_;
  }
  const std::map<std::string, FunctionSignature>& function_signatures() const {
    return signatures_;
  }
  // Internal consistency of every schema (names, flag combinations); empty when sound.
  Diagnostics schema_diagnostics() const { return schema_diagnostics_; }

  // The schema of a managed resource or data source type; nullptr with a diagnostic naming the
  // type when the provider has no such type.
  const Schema* FindResourceSchema(const std::string& type, Diagnostics& diagnostics) const;
  const Schema* FindDataSourceSchema(const std::string& type, Diagnostics& diagnostics) const;

  Diagnostics ValidateProviderConfig(const Value& config) const;
  Diagnostics ConfigureProvider(const ConfigureRequest& request);
  Diagnostics ValidateResourceConfig(const std::string& type,
                                     const ValidateResourceRequest& r) const;
  Diagnostics ValidateDataResourceConfig(const std::string& type, const Value& config) const;

  struct Upgraded {
    Value state;
    Diagnostics diagnostics;
  };
  Upgraded UpgradeResourceState(const std::string& type, int64_t version,
                                const std::string& json) const;
  ReadResourceResponse ReadResource(const std::string& type, const ReadResourceRequest& r) const;
  PlanResponse PlanResourceChange(const std::string& type, const PlanRequest& request,
                                  const std::optional<Value>& prior_identity) const;
  ApplyResponse ApplyResourceChange(const std::string& type, const ApplyRequest& request) const;
  ImportResponse ImportResourceState(const std::string& type, const ImportRequest& r) const;
  ReadDataResponse ReadDataSource(const std::string& type, const Value& config) const;
  std::variant<Value, FunctionError> CallFunction(const std::string& name,
                                                  const std::vector<Value>& arguments) const;

  // StopProvider: fires the stop token every in-flight call holds.
  void Stop();

 private:
  Context CurrentContext() const;
  const Resource* FindResource(const std::string& type, Diagnostics& diagnostics) const;
  const DataSource* FindDataSource(const std::string& type, Diagnostics& diagnostics) const;
  std::optional<Value> IdentityFor(const Resource& resource, const Value& state) const;

  std::shared_ptr<Provider> provider_;
  Schema provider_schema_;
  std::map<std::string, std::shared_ptr<const Resource>> resources_;
  std::map<std::string, std::shared_ptr<const DataSource>> data_sources_;
  std::map<std::string, std::shared_ptr<const Function>> functions_;
  std::map<std::string, Schema> resource_schemas_;
  std::map<std::string, Schema> data_schemas_;
  std::map<std::string, IdentitySchema> identity_schemas_;
  std::map<std::string, FunctionSignature> signatures_;
  Diagnostics schema_diagnostics_;

  mutable std::mutex mutex_;
  std::shared_ptr<void> provider_data_;
  std::stop_source stop_;
};

// The planning rules, exposed for unit tests and for resources that plan nested values.
namespace planning {

// Sets every write-only attribute (at any depth) to null.
Value NullWriteOnly(const Block& block, const Value& value);
// Marks computed attributes that are null in config as unknown, except those flagged
// use_state_for_unknown whose prior value is known (`prior` may be null).
Value MarkComputedUnknown(const Block& block, const Value& planned, const Value& config,
                          const Value& prior);
// Paths of requires_replace attributes whose planned value differs from prior or is unknown.
std::vector<AttributePath> ReplacePaths(const Block& block, const Value& prior,
                                        const Value& planned);
// Infinite numbers anywhere in `value`, each with its path: the host's state file cannot hold
// them, so neither configuration nor results may carry one.
void CheckFinite(const Value& value, const AttributePath& path, Diagnostics& diagnostics);
// Problems with a value the provider is about to return: unknowns (when `allow_unknown` is
// false), write-only values and infinite numbers, each with its path.
void CheckResult(const Block& block, const Value& value, bool allow_unknown,
                 const std::string& what, Diagnostics& diagnostics);

}  // namespace planning

}  // namespace arnica::tf
