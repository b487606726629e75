// Wire encodings of values, driven by the schema type: msgpack (what the host sends and what we
// always answer with) and JSON (stored state handed to UpgradeResourceState, and the fallback
// DynamicValue form).
//
// Rules followed (see ../shared/reference/protocol.md §3): objects carry every attribute; any
// msgpack ext is unknown, ext 12 carries refinements; `dynamic` slots hold [type JSON, value];
// numbers stay exact (int64 as msgpack int, values a float64 holds exactly and infinities as
// float64, everything else as a decimal string).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "provider/tf/type.h"
#include "provider/tf/value.h"

namespace arnica::tf {

// Decodes `bytes` as a value of `type`. Errors name the attribute path where decoding failed.
absl::StatusOr<Value> DecodeMsgpack(std::string_view bytes, const Type& type);
// Encodes `value` for a slot of type `type` (which may be `dynamic`, or contain it).
std::string EncodeMsgpack(const Value& value, const Type& type);

// Decodes JSON state. Object attributes missing from the JSON become null; attributes the type
// does not know are an error unless `ignore_unknown_attributes` (the host strips removed
// attributes itself only when schema versions match). JSON has no unknowns.
absl::StatusOr<Value> DecodeJson(std::string_view text, const Type& type,
                                 bool ignore_unknown_attributes = false);
// Encodes a wholly known value as JSON (dynamic slots as {"value":…,"type":…}); an unknown
// anywhere inside aborts. JSON has no infinity, so ±infinity is written as the string "+Inf" or
// "-Inf", which DecodeJson (and the host's decoder) read back as the number.
std::string EncodeJson(const Value& value, const Type& type);

}  // namespace arnica::tf
