#include "provider/protocol/provider_service.h"

#include <cxxabi.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>

#include "provider/plugin/log.h"
#include "provider/plugin/log_keys.h"
#include "provider/protocol/convert.h"
#include "provider/tf/codec.h"

namespace arnica::protocol {
namespace {

using plugin::Log;
namespace keys = plugin::log_keys;
using Diags = google::protobuf::RepeatedPtrField<tfplugin6::Diagnostic>;

std::atomic<uint64_t> next_request_id{1};

std::string Demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> readable(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && readable ? readable.get() : mangled;
}

// Runs one RPC body with the logging and failure handling every call shares. `diagnostics` is
// where an unexpected failure is reported; null for RPCs that report failures otherwise.
grpc::Status Handle(const char* rpc, nlohmann::json fields, Diags* diagnostics,
                    const std::function<void()>& body,
                    const std::function<void(const std::string&)>& on_failure = nullptr) {
  fields[keys::kRpc] = rpc;
  fields[keys::kRequestId] = next_request_id.fetch_add(1);
  Log::Debug("Received request", fields);
  auto started = std::chrono::steady_clock::now();
  std::string failure;
  try {
    body();
  } catch (const std::logic_error& e) {
    // Our own invariant checks: fixed text that never quotes a value.
    failure = Demangle(typeid(e).name()) + ": " + e.what();
  } catch (const std::exception& e) {
    // Other exceptions may quote request data, which can be secret; only the type is named.
    failure = Demangle(typeid(e).name());
  } catch (...) {
    failure = "unknown exception";
  }
  if (!failure.empty()) {
    nlohmann::json error_fields = fields;
    error_fields[keys::kError] = failure;
    Log::Error("Request failed with an exception", error_fields);
    std::string detail = std::string("The provider failed unexpectedly while handling ") + rpc +
                         ". This is a bug in terraform-provider-arnica; please report it with the "
                         "provider log (TF_LOG_PROVIDER=DEBUG).";
    if (diagnostics != nullptr) {
      tf::Diagnostic diagnostic{tf::Severity::kError, "Provider Internal Error", detail, {}};
      ToWire(diagnostic, diagnostics->Add());
    }
    if (on_failure) on_failure(detail);
  }
  int errors = 0;
  int warnings = 0;
  if (diagnostics != nullptr) {
    for (const auto& d : *diagnostics) {
      (d.severity() == tfplugin6::Diagnostic::ERROR ? errors : warnings)++;
      Log::Debug("Diagnostic", {{keys::kRpc, rpc}, {"summary", d.summary()}});
    }
  }
  fields[keys::kDurationMs] = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - started)
                                  .count();
  fields[keys::kDiagnosticErrors] = errors;
  fields[keys::kDiagnosticWarnings] = warnings;
  Log::Debug("Served request", fields);
  return grpc::Status::OK;
}

nlohmann::json ResourceFields(const std::string& type) { return {{keys::kResourceType, type}}; }
nlohmann::json DataSourceFields(const std::string& type) { return {{keys::kDataSourceType, type}}; }

// Decodes one value of a request; on failure adds a diagnostic and returns false.
bool Decode(const tfplugin6::DynamicValue& wire, const tf::Type& type, const char* what,
            tf::Value& out, tf::Diagnostics& diagnostics) {
  absl::StatusOr<tf::Value> decoded = FromDynamic(wire, type);
  if (!decoded.ok()) {
    diagnostics.AddError("Unreadable Value From Host",
                         std::string("The provider could not decode the ") + what +
                             " it was sent: " + std::string(decoded.status().message()) +
                             ". This is a bug in the provider or the host; please report it with "
                             "the OpenTofu version in use.");
    return false;
  }
  out = *std::move(decoded);
  return true;
}

bool DecodeIdentity(const tfplugin6::ResourceIdentityData& wire, const tf::Type& type,
                    std::optional<tf::Value>& out, tf::Diagnostics& diagnostics) {
  if (wire.identity_data().msgpack().empty() && wire.identity_data().json().empty()) return true;
  tf::Value value;
  if (!Decode(wire.identity_data(), type, "resource identity", value, diagnostics)) return false;
  if (!value.is_null()) out = value;
  return true;
}

void EncodeIdentity(const std::optional<tf::Value>& identity, const tf::Type& type,
                    tfplugin6::ResourceIdentityData* wire) {
  ToDynamic(*identity, type, wire->mutable_identity_data());
}

void Unsupported(const std::string& kind, const std::string& name, Diags* wire) {
  tf::Diagnostics diagnostics;
  diagnostics.AddError("Unsupported " + kind,
                       "terraform-provider-arnica has no " + kind + (name.empty() ? "" : " \"") +
                           name + (name.empty() ? "" : "\"") +
                           ". Check the block type and name against the provider documentation.");
  ToWire(diagnostics, wire);
}

}  // namespace

ProviderService::ProviderService(std::shared_ptr<tf::Provider> provider)
    : server_(std::move(provider)) {}

grpc::Status ProviderService::GetMetadata(Ctx*, const tfplugin6::GetMetadata_::Request*,
                                          tfplugin6::GetMetadata_::Response* response) {
  return Handle("GetMetadata", {}, response->mutable_diagnostics(), [&] {
    response->mutable_server_capabilities()->set_plan_destroy(false);
    for (const auto& [type, schema] : server_.resource_schemas()) {
      response->add_resources()->set_type_name(type);
    }
    for (const auto& [type, schema] : server_.data_source_schemas()) {
      response->add_data_sources()->set_type_name(type);
    }
    for (const auto& [name, signature] : server_.function_signatures()) {
      response->add_functions()->set_name(name);
    }
  });
}

grpc::Status ProviderService::GetProviderSchema(Ctx*, const tfplugin6::GetProviderSchema::Request*,
                                                tfplugin6::GetProviderSchema::Response* response) {
  return Handle("GetProviderSchema", {}, response->mutable_diagnostics(), [&] {
    ToWire(server_.schema_diagnostics(), response->mutable_diagnostics());
    ToWire(server_.provider_schema(), response->mutable_provider());
    // An empty provider_meta schema, never a missing block: the host dereferences it.
    ToWire(tf::Schema{}, response->mutable_provider_meta());
    for (const auto& [type, schema] : server_.resource_schemas()) {
      ToWire(schema, &(*response->mutable_resource_schemas())[type]);
    }
    for (const auto& [type, schema] : server_.data_source_schemas()) {
      ToWire(schema, &(*response->mutable_data_source_schemas())[type]);
    }
    for (const auto& [name, signature] : server_.function_signatures()) {
      ToWire(signature, &(*response->mutable_functions())[name]);
    }
  });
}

grpc::Status ProviderService::GetResourceIdentitySchemas(
    Ctx*, const tfplugin6::GetResourceIdentitySchemas::Request*,
    tfplugin6::GetResourceIdentitySchemas::Response* response) {
  return Handle("GetResourceIdentitySchemas", {}, response->mutable_diagnostics(), [&] {
    for (const auto& [type, schema] : server_.identity_schemas()) {
      ToWire(schema, &(*response->mutable_identity_schemas())[type]);
    }
  });
}

grpc::Status ProviderService::GetFunctions(Ctx*, const tfplugin6::GetFunctions::Request*,
                                           tfplugin6::GetFunctions::Response* response) {
  return Handle("GetFunctions", {}, response->mutable_diagnostics(), [&] {
    for (const auto& [name, signature] : server_.function_signatures()) {
      ToWire(signature, &(*response->mutable_functions())[name]);
    }
  });
}

grpc::Status ProviderService::ValidateProviderConfig(
    Ctx*, const tfplugin6::ValidateProviderConfig::Request* request,
    tfplugin6::ValidateProviderConfig::Response* response) {
  return Handle("ValidateProviderConfig", {}, response->mutable_diagnostics(), [&] {
    tf::Diagnostics diagnostics;
    tf::Value config;
    if (Decode(request->config(), server_.provider_schema().block.ImpliedType(),
               "provider configuration", config, diagnostics)) {
      diagnostics.Append(server_.ValidateProviderConfig(config));
    }
    ToWire(diagnostics, response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::ConfigureProvider(
    Ctx*, const tfplugin6::ConfigureProvider::Request* request,
    tfplugin6::ConfigureProvider::Response* response) {
  return Handle("ConfigureProvider", {}, response->mutable_diagnostics(), [&] {
    tf::Diagnostics diagnostics;
    tf::ConfigureRequest configure;
    configure.terraform_version = request->terraform_version();
    configure.capabilities = FromWire(request->client_capabilities());
    if (Decode(request->config(), server_.provider_schema().block.ImpliedType(),
               "provider configuration", configure.config, diagnostics)) {
      diagnostics.Append(server_.ConfigureProvider(configure));
    }
    ToWire(diagnostics, response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::ValidateResourceConfig(
    Ctx*, const tfplugin6::ValidateResourceConfig::Request* request,
    tfplugin6::ValidateResourceConfig::Response* response) {
  const std::string& type = request->type_name();
  return Handle("ValidateResourceConfig", ResourceFields(type), response->mutable_diagnostics(),
                [&] {
                  tf::Diagnostics diagnostics;
                  if (const tf::Schema* schema = server_.FindResourceSchema(type, diagnostics)) {
                    tf::ValidateResourceRequest validate;
                    validate.capabilities = FromWire(request->client_capabilities());
                    if (Decode(request->config(), schema->block.ImpliedType(), "configuration",
                               validate.config, diagnostics)) {
                      diagnostics.Append(server_.ValidateResourceConfig(type, validate));
                    }
                  }
                  ToWire(diagnostics, response->mutable_diagnostics());
                });
}

grpc::Status ProviderService::UpgradeResourceState(
    Ctx*, const tfplugin6::UpgradeResourceState::Request* request,
    tfplugin6::UpgradeResourceState::Response* response) {
  const std::string& type = request->type_name();
  return Handle("UpgradeResourceState", ResourceFields(type), response->mutable_diagnostics(), [&] {
    tf::Diagnostics diagnostics;
    const tf::Schema* schema = server_.FindResourceSchema(type, diagnostics);
    if (schema != nullptr && request->raw_state().json().empty() &&
        !request->raw_state().flatmap().empty()) {
      diagnostics.AddError("Unsupported State Format",
                           "This " + type +
                               " is stored in the flatmap format of Terraform 0.11 and older, "
                               "which this provider never wrote. Remove it from state with "
                               "`tofu state rm` and import it again.");
    } else if (schema != nullptr) {
      tf::ProviderServer::Upgraded upgraded =
          server_.UpgradeResourceState(type, request->version(), request->raw_state().json());
      diagnostics.Append(upgraded.diagnostics);
      if (!upgraded.diagnostics.HasError()) {
        ToDynamic(upgraded.state, schema->block.ImpliedType(), response->mutable_upgraded_state());
      }
    }
    ToWire(diagnostics, response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::UpgradeResourceIdentity(
    Ctx*, const tfplugin6::UpgradeResourceIdentity::Request* request,
    tfplugin6::UpgradeResourceIdentity::Response* response) {
  const std::string& type = request->type_name();
  return Handle(
      "UpgradeResourceIdentity", ResourceFields(type), response->mutable_diagnostics(), [&] {
        tf::Diagnostics diagnostics;
        auto found = server_.identity_schemas().find(type);
        if (found == server_.identity_schemas().end()) {
          Unsupported("resource identity", type, response->mutable_diagnostics());
          return;
        }
        tf::Type identity_type = found->second.ImpliedType();
        absl::StatusOr<tf::Value> identity =
            request->version() == found->second.version
                ? tf::DecodeJson(request->raw_identity().json(), identity_type, true)
                : absl::StatusOr<tf::Value>(absl::FailedPreconditionError(
                      "it was written with identity version " + std::to_string(request->version()) +
                      ", and this provider is at " + std::to_string(found->second.version)));
        if (!identity.ok()) {
          diagnostics.AddError("Unable To Read Stored Identity",
                               "The identity stored for this " + type + " could not be read: " +
                                   std::string(identity.status().message()) + ".");
        } else {
          ToDynamic(*identity, identity_type,
                    response->mutable_upgraded_identity()->mutable_identity_data());
        }
        ToWire(diagnostics, response->mutable_diagnostics());
      });
}

grpc::Status ProviderService::ReadResource(Ctx*, const tfplugin6::ReadResource::Request* request,
                                           tfplugin6::ReadResource::Response* response) {
  const std::string& type = request->type_name();
  return Handle("ReadResource", ResourceFields(type), response->mutable_diagnostics(), [&] {
    tf::Diagnostics diagnostics;
    const tf::Schema* schema = server_.FindResourceSchema(type, diagnostics);
    if (schema == nullptr) return ToWire(diagnostics, response->mutable_diagnostics());
    tf::Type state_type = schema->block.ImpliedType();
    auto identity_schema = server_.identity_schemas().find(type);
    tf::ReadResourceRequest read;
    read.private_state = request->private_();
    bool ok =
        Decode(request->current_state(), state_type, "current state", read.state, diagnostics);
    if (ok && identity_schema != server_.identity_schemas().end()) {
      ok = DecodeIdentity(request->current_identity(), identity_schema->second.ImpliedType(),
                          read.identity, diagnostics);
    }
    if (!ok) return ToWire(diagnostics, response->mutable_diagnostics());

    tf::ReadResourceResponse result = server_.ReadResource(type, read);
    diagnostics.Append(result.diagnostics);
    // On error the prior state stands, so nothing half-read reaches the state file.
    const tf::Value& new_state = result.diagnostics.HasError() ? read.state : result.new_state;
    ToDynamic(new_state, state_type, response->mutable_new_state());
    response->set_private_(result.diagnostics.HasError() ? read.private_state
                                                         : result.private_state);
    std::optional<tf::Value> identity =
        result.diagnostics.HasError() ? read.identity : result.identity;
    if (identity && identity_schema != server_.identity_schemas().end() && !new_state.is_null()) {
      EncodeIdentity(identity, identity_schema->second.ImpliedType(),
                     response->mutable_new_identity());
    }
    ToWire(diagnostics, response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::PlanResourceChange(
    Ctx*, const tfplugin6::PlanResourceChange::Request* request,
    tfplugin6::PlanResourceChange::Response* response) {
  const std::string& type = request->type_name();
  return Handle("PlanResourceChange", ResourceFields(type), response->mutable_diagnostics(), [&] {
    tf::Diagnostics diagnostics;
    const tf::Schema* schema = server_.FindResourceSchema(type, diagnostics);
    if (schema == nullptr) return ToWire(diagnostics, response->mutable_diagnostics());
    tf::Type state_type = schema->block.ImpliedType();
    auto identity_schema = server_.identity_schemas().find(type);
    tf::PlanRequest plan;
    plan.prior_private = request->prior_private();
    std::optional<tf::Value> prior_identity;
    bool ok =
        Decode(request->prior_state(), state_type, "prior state", plan.prior_state, diagnostics) &&
        Decode(request->proposed_new_state(), state_type, "proposed state", plan.proposed_state,
               diagnostics) &&
        Decode(request->config(), state_type, "configuration", plan.config, diagnostics);
    if (ok && identity_schema != server_.identity_schemas().end()) {
      ok = DecodeIdentity(request->prior_identity(), identity_schema->second.ImpliedType(),
                          prior_identity, diagnostics);
    }
    if (!ok) return ToWire(diagnostics, response->mutable_diagnostics());

    tf::PlanResponse result = server_.PlanResourceChange(type, plan, prior_identity);
    diagnostics.Append(result.diagnostics);
    if (!result.diagnostics.HasError()) {
      ToDynamic(result.planned_state, state_type, response->mutable_planned_state());
      response->set_planned_private(result.planned_private);
      for (const tf::AttributePath& path : result.requires_replace) {
        ToWire(path, response->add_requires_replace());
      }
      if (result.planned_identity && identity_schema != server_.identity_schemas().end()) {
        EncodeIdentity(result.planned_identity, identity_schema->second.ImpliedType(),
                       response->mutable_planned_identity());
      }
    }
    ToWire(diagnostics, response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::ApplyResourceChange(
    Ctx*, const tfplugin6::ApplyResourceChange::Request* request,
    tfplugin6::ApplyResourceChange::Response* response) {
  const std::string& type = request->type_name();
  return Handle("ApplyResourceChange", ResourceFields(type), response->mutable_diagnostics(), [&] {
    tf::Diagnostics diagnostics;
    const tf::Schema* schema = server_.FindResourceSchema(type, diagnostics);
    if (schema == nullptr) return ToWire(diagnostics, response->mutable_diagnostics());
    tf::Type state_type = schema->block.ImpliedType();
    auto identity_schema = server_.identity_schemas().find(type);
    tf::ApplyRequest apply;
    apply.planned_private = request->planned_private();
    bool ok =
        Decode(request->prior_state(), state_type, "prior state", apply.prior_state, diagnostics) &&
        Decode(request->planned_state(), state_type, "planned state", apply.planned_state,
               diagnostics) &&
        Decode(request->config(), state_type, "configuration", apply.config, diagnostics);
    if (!ok) {
      // The object is as it was: hand the prior state back unchanged.
      *response->mutable_new_state() = request->prior_state();
      return ToWire(diagnostics, response->mutable_diagnostics());
    }

    tf::ApplyResponse result = server_.ApplyResourceChange(type, apply);
    diagnostics.Append(result.diagnostics);
    ToDynamic(result.new_state, state_type, response->mutable_new_state());
    response->set_private_(result.private_state);
    if (result.identity && identity_schema != server_.identity_schemas().end() &&
        !result.new_state.is_null()) {
      EncodeIdentity(result.identity, identity_schema->second.ImpliedType(),
                     response->mutable_new_identity());
    }
    ToWire(diagnostics, response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::ImportResourceState(
    Ctx*, const tfplugin6::ImportResourceState::Request* request,
    tfplugin6::ImportResourceState::Response* response) {
  const std::string& type = request->type_name();
  return Handle("ImportResourceState", ResourceFields(type), response->mutable_diagnostics(), [&] {
    tf::Diagnostics diagnostics;
    const tf::Schema* schema = server_.FindResourceSchema(type, diagnostics);
    if (schema == nullptr) return ToWire(diagnostics, response->mutable_diagnostics());
    auto identity_schema = server_.identity_schemas().find(type);
    tf::ImportRequest import;
    import.id = request->id();
    if (request->has_identity()) {
      if (identity_schema == server_.identity_schemas().end()) {
        diagnostics.AddError("Import By Identity Not Supported",
                             type + " has no resource identity; import it by its ID instead.");
        return ToWire(diagnostics, response->mutable_diagnostics());
      }
      if (!DecodeIdentity(request->identity(), identity_schema->second.ImpliedType(),
                          import.identity, diagnostics)) {
        return ToWire(diagnostics, response->mutable_diagnostics());
      }
    }

    tf::ImportResponse result = server_.ImportResourceState(type, import);
    diagnostics.Append(result.diagnostics);
    if (!result.diagnostics.HasError()) {
      auto* imported = response->add_imported_resources();
      imported->set_type_name(type);
      ToDynamic(result.state, schema->block.ImpliedType(), imported->mutable_state());
      imported->set_private_(result.private_state);
      if (result.identity && identity_schema != server_.identity_schemas().end()) {
        EncodeIdentity(result.identity, identity_schema->second.ImpliedType(),
                       imported->mutable_identity());
      }
    }
    ToWire(diagnostics, response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::MoveResourceState(
    Ctx*, const tfplugin6::MoveResourceState::Request* request,
    tfplugin6::MoveResourceState::Response* response) {
  return Handle("MoveResourceState", ResourceFields(request->target_type_name()),
                response->mutable_diagnostics(), [&] {
                  tf::Diagnostics diagnostics;
                  diagnostics.AddError(
                      "Move Not Supported",
                      "terraform-provider-arnica cannot move state from " +
                          request->source_type_name() + " into " + request->target_type_name() +
                          ". Remove the moved block, and import the object under its new "
                          "address instead.");
                  ToWire(diagnostics, response->mutable_diagnostics());
                });
}

grpc::Status ProviderService::GenerateResourceConfig(
    Ctx*, const tfplugin6::GenerateResourceConfig::Request* request,
    tfplugin6::GenerateResourceConfig::Response* response) {
  return Handle("GenerateResourceConfig", ResourceFields(request->type_name()),
                response->mutable_diagnostics(), [&] {
                  tf::Diagnostics diagnostics;
                  diagnostics.AddError("Configuration Generation Not Supported",
                                       "terraform-provider-arnica does not generate configuration "
                                       "for " +
                                           request->type_name() + "; write it by hand.");
                  ToWire(diagnostics, response->mutable_diagnostics());
                });
}

grpc::Status ProviderService::ValidateDataResourceConfig(
    Ctx*, const tfplugin6::ValidateDataResourceConfig::Request* request,
    tfplugin6::ValidateDataResourceConfig::Response* response) {
  const std::string& type = request->type_name();
  return Handle("ValidateDataResourceConfig", DataSourceFields(type),
                response->mutable_diagnostics(), [&] {
                  tf::Diagnostics diagnostics;
                  tf::Value config;
                  const tf::Schema* schema = server_.FindDataSourceSchema(type, diagnostics);
                  if (schema != nullptr && Decode(request->config(), schema->block.ImpliedType(),
                                                  "configuration", config, diagnostics)) {
                    diagnostics.Append(server_.ValidateDataResourceConfig(type, config));
                  }
                  ToWire(diagnostics, response->mutable_diagnostics());
                });
}

grpc::Status ProviderService::ReadDataSource(Ctx*,
                                             const tfplugin6::ReadDataSource::Request* request,
                                             tfplugin6::ReadDataSource::Response* response) {
  const std::string& type = request->type_name();
  return Handle("ReadDataSource", DataSourceFields(type), response->mutable_diagnostics(), [&] {
    tf::Diagnostics diagnostics;
    tf::Value config;
    const tf::Schema* schema = server_.FindDataSourceSchema(type, diagnostics);
    if (schema != nullptr && Decode(request->config(), schema->block.ImpliedType(), "configuration",
                                    config, diagnostics)) {
      tf::ReadDataResponse result = server_.ReadDataSource(type, config);
      diagnostics.Append(result.diagnostics);
      if (!result.diagnostics.HasError()) {
        ToDynamic(result.state, schema->block.ImpliedType(), response->mutable_state());
      }
    }
    ToWire(diagnostics, response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::CallFunction(Ctx*, const tfplugin6::CallFunction::Request* request,
                                           tfplugin6::CallFunction::Response* response) {
  const std::string& name = request->name();
  auto fail = [&](const std::string& text) { response->mutable_error()->set_text(text); };
  return Handle(
      "CallFunction", {{keys::kFunctionName, name}}, nullptr,
      [&] {
        auto found = server_.function_signatures().find(name);
        if (found == server_.function_signatures().end()) {
          return fail("terraform-provider-arnica has no function named \"" + name + "\".");
        }
        const tf::FunctionSignature& signature = found->second;
        std::vector<tf::Value> arguments;
        for (int i = 0; i < request->arguments_size(); ++i) {
          size_t index = static_cast<size_t>(i);
          const tf::FunctionParameter* parameter =
              index < signature.parameters.size()
                  ? &signature.parameters[index]
                  : (signature.variadic ? &*signature.variadic : nullptr);
          if (parameter == nullptr) {
            return fail("provider::arnica::" + name + " takes " +
                        std::to_string(signature.parameters.size()) + " argument(s), not " +
                        std::to_string(request->arguments_size()) + ".");
          }
          absl::StatusOr<tf::Value> argument = FromDynamic(request->arguments(i), parameter->type);
          if (!argument.ok()) {
            fail("Argument \"" + parameter->name +
                 "\" could not be decoded: " + std::string(argument.status().message()) + ".");
            response->mutable_error()->set_function_argument(i);
            return;
          }
          arguments.push_back(*std::move(argument));
        }
        std::variant<tf::Value, tf::FunctionError> result = server_.CallFunction(name, arguments);
        if (const auto* error = std::get_if<tf::FunctionError>(&result)) {
          fail(error->text);
          if (error->argument) response->mutable_error()->set_function_argument(*error->argument);
          return;
        }
        ToDynamic(std::get<tf::Value>(result), signature.return_type, response->mutable_result());
      },
      fail);
}

// ---- What this provider does not have ----------------------------------------------------------

grpc::Status ProviderService::ValidateEphemeralResourceConfig(
    Ctx*, const tfplugin6::ValidateEphemeralResourceConfig::Request* request,
    tfplugin6::ValidateEphemeralResourceConfig::Response* response) {
  return Handle("ValidateEphemeralResourceConfig", {}, response->mutable_diagnostics(), [&] {
    Unsupported("ephemeral resource", request->type_name(), response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::OpenEphemeralResource(
    Ctx*, const tfplugin6::OpenEphemeralResource::Request* request,
    tfplugin6::OpenEphemeralResource::Response* response) {
  return Handle("OpenEphemeralResource", {}, response->mutable_diagnostics(), [&] {
    Unsupported("ephemeral resource", request->type_name(), response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::RenewEphemeralResource(
    Ctx*, const tfplugin6::RenewEphemeralResource::Request* request,
    tfplugin6::RenewEphemeralResource::Response* response) {
  return Handle("RenewEphemeralResource", {}, response->mutable_diagnostics(), [&] {
    Unsupported("ephemeral resource", request->type_name(), response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::CloseEphemeralResource(
    Ctx*, const tfplugin6::CloseEphemeralResource::Request* request,
    tfplugin6::CloseEphemeralResource::Response* response) {
  return Handle("CloseEphemeralResource", {}, response->mutable_diagnostics(), [&] {
    Unsupported("ephemeral resource", request->type_name(), response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::ListResource(
    Ctx*, const tfplugin6::ListResource::Request* request,
    grpc::ServerWriter<tfplugin6::ListResource::Event>* writer) {
  tfplugin6::ListResource::Event event;
  Unsupported("list resource", request->type_name(), event.mutable_diagnostic());
  writer->Write(event);
  return grpc::Status::OK;
}

grpc::Status ProviderService::ValidateListResourceConfig(
    Ctx*, const tfplugin6::ValidateListResourceConfig::Request* request,
    tfplugin6::ValidateListResourceConfig::Response* response) {
  return Handle("ValidateListResourceConfig", {}, response->mutable_diagnostics(), [&] {
    Unsupported("list resource", request->type_name(), response->mutable_diagnostics());
  });
}

grpc::Status ProviderService::ValidateStateStoreConfig(
    Ctx*, const tfplugin6::ValidateStateStore::Request* request,
    tfplugin6::ValidateStateStore::Response* response) {
  Unsupported("state store", request->type_name(), response->mutable_diagnostics());
  return grpc::Status::OK;
}

grpc::Status ProviderService::ConfigureStateStore(
    Ctx*, const tfplugin6::ConfigureStateStore::Request* request,
    tfplugin6::ConfigureStateStore::Response* response) {
  Unsupported("state store", request->type_name(), response->mutable_diagnostics());
  return grpc::Status::OK;
}

grpc::Status ProviderService::ReadStateBytes(
    Ctx*, const tfplugin6::ReadStateBytes::Request* request,
    grpc::ServerWriter<tfplugin6::ReadStateBytes::Response>* writer) {
  tfplugin6::ReadStateBytes::Response response;
  Unsupported("state store", request->type_name(), response.mutable_diagnostics());
  writer->Write(response);
  return grpc::Status::OK;
}

grpc::Status ProviderService::WriteStateBytes(
    Ctx*, grpc::ServerReader<tfplugin6::WriteStateBytes::RequestChunk>* reader,
    tfplugin6::WriteStateBytes::Response* response) {
  tfplugin6::WriteStateBytes::RequestChunk chunk;
  std::string type;
  while (reader->Read(&chunk)) {
    if (chunk.has_meta()) type = chunk.meta().type_name();
  }
  Unsupported("state store", type, response->mutable_diagnostics());
  return grpc::Status::OK;
}

grpc::Status ProviderService::LockState(Ctx*, const tfplugin6::LockState::Request* request,
                                        tfplugin6::LockState::Response* response) {
  Unsupported("state store", request->type_name(), response->mutable_diagnostics());
  return grpc::Status::OK;
}

grpc::Status ProviderService::UnlockState(Ctx*, const tfplugin6::UnlockState::Request* request,
                                          tfplugin6::UnlockState::Response* response) {
  Unsupported("state store", request->type_name(), response->mutable_diagnostics());
  return grpc::Status::OK;
}

grpc::Status ProviderService::GetStates(Ctx*, const tfplugin6::GetStates::Request* request,
                                        tfplugin6::GetStates::Response* response) {
  Unsupported("state store", request->type_name(), response->mutable_diagnostics());
  return grpc::Status::OK;
}

grpc::Status ProviderService::DeleteState(Ctx*, const tfplugin6::DeleteState::Request* request,
                                          tfplugin6::DeleteState::Response* response) {
  Unsupported("state store", request->type_name(), response->mutable_diagnostics());
  return grpc::Status::OK;
}

grpc::Status ProviderService::PlanAction(Ctx*, const tfplugin6::PlanAction::Request* request,
                                         tfplugin6::PlanAction::Response* response) {
  Unsupported("action", request->action_type(), response->mutable_diagnostics());
  return grpc::Status::OK;
}

grpc::Status ProviderService::InvokeAction(
    Ctx*, const tfplugin6::InvokeAction::Request* request,
    grpc::ServerWriter<tfplugin6::InvokeAction::Event>* writer) {
  tfplugin6::InvokeAction::Event event;
  Unsupported("action", request->action_type(), event.mutable_completed()->mutable_diagnostics());
  writer->Write(event);
  return grpc::Status::OK;
}

grpc::Status ProviderService::ValidateActionConfig(
    Ctx*, const tfplugin6::ValidateActionConfig::Request* request,
    tfplugin6::ValidateActionConfig::Response* response) {
  Unsupported("action", request->type_name(), response->mutable_diagnostics());
  return grpc::Status::OK;
}

grpc::Status ProviderService::StopProvider(Ctx*, const tfplugin6::StopProvider::Request*,
                                           tfplugin6::StopProvider::Response*) {
  Log::Info("Stop requested by the host; cancelling work in flight",
            {{keys::kRpc, "StopProvider"}});
  server_.Stop();
  return grpc::Status::OK;
}

}  // namespace arnica::protocol
