// Conversions between the tfplugin6 wire messages and our own types. This is the only place that
// knows both; everything above it speaks Value, Schema and Diagnostics.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "provider/tf/diagnostics.h"
#include "provider/tf/resource.h"
#include "provider/tf/schema.h"
#include "provider/tf/value.h"
#include "tfplugin6.pb.h"

namespace arnica::protocol {

// Decodes a DynamicValue of `type`: msgpack when present, else the JSON fallback, else null (the
// host leaves both empty for absent values such as an unset provider_meta).
absl::StatusOr<tf::Value> FromDynamic(const tfplugin6::DynamicValue& wire, const tf::Type& type);
// Always msgpack: the host does not accept JSON in every response.
void ToDynamic(const tf::Value& value, const tf::Type& type, tfplugin6::DynamicValue* wire);

tf::ClientCapabilities FromWire(const tfplugin6::ClientCapabilities& wire);

void ToWire(const tf::AttributePath& path, tfplugin6::AttributePath* wire);
void ToWire(const tf::Diagnostic& diagnostic, tfplugin6::Diagnostic* wire);
void ToWire(const tf::Diagnostics& diagnostics,
            google::protobuf::RepeatedPtrField<tfplugin6::Diagnostic>* wire);

void ToWire(const tf::Schema& schema, tfplugin6::Schema* wire);
void ToWire(const tf::IdentitySchema& schema, tfplugin6::ResourceIdentitySchema* wire);
void ToWire(const tf::FunctionSignature& signature, tfplugin6::Function* wire);

}  // namespace arnica::protocol
