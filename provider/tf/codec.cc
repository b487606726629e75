#include "provider/tf/codec.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <msgpack.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace arnica::tf {
namespace {

// Containers nested deeper than this are rejected, so hostile input cannot exhaust the stack of
// the recursive decoders. Real schemas stay within a handful of levels.
constexpr int kMaxDepth = 512;
// Limits from the protocol (go-cty): larger refinement payloads are refused, and prefixes are
// shortened before encoding so the payload stays well below that.
constexpr size_t kMaxRefinementBytes = 1024;
constexpr size_t kMaxPrefixBytes = 256;

constexpr int8_t kExtUnknown = 0;
constexpr int8_t kExtRefinedUnknown = 12;
constexpr uint64_t kRefineNullness = 1;
constexpr uint64_t kRefineStringPrefix = 2;
constexpr uint64_t kRefineNumberLower = 3;
constexpr uint64_t kRefineNumberUpper = 4;
constexpr uint64_t kRefineLengthLower = 5;
constexpr uint64_t kRefineLengthUpper = 6;

// Encoding a value that does not fit its type is a bug in the caller, not bad input. Thrown so
// that the protocol layer reports it as an error diagnostic on the request that hit it.
[[noreturn]] void Fail(const char* what) {
  throw std::logic_error(std::string("arnica::tf codec: ") + what);
}

// JSON text of `json`. Invalid UTF-8 is replaced rather than thrown about: these strings come
// from the wire and must never take the process down.
std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Quote(std::string_view text) { return Dump(nlohmann::json(std::string(text))); }

// The attribute path of the value being decoded, rendered as `.tags["a"]` or `.list[2]`.
// Steps are appended before descending and trimmed on the way back.
class Path {
 public:
  class Step {
   public:
    Step(Path& path, const std::string& suffix) : path_(path), size_(path.text_.size()) {
      path_.text_ += suffix;
    }
    ~Step() { path_.text_.resize(size_); }
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;

   private:
    Path& path_;
    size_t size_;
  };

  static std::string Attr(const std::string& name) { return "." + name; }
  static std::string Index(size_t index) { return "[" + std::to_string(index) + "]"; }
  static std::string Key(std::string_view key) { return "[" + Quote(key) + "]"; }

  absl::Status Error(const std::string& message) const {
    if (text_.empty()) return absl::InvalidArgumentError(message);
    return absl::InvalidArgumentError("at " + text_ + ": " + message);
  }

 private:
  std::string text_;
};

// ---------------------------------------------------------------------------------------------
// JSON reading. nlohmann::json refuses numbers that overflow a double (1e400) and its SAX
// interface gives integers without their text, so a small reader keeps every number's source
// text instead.

struct JsonNode {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text;               // string contents, or a number's source text
  std::vector<std::string> keys;  // object member names, parallel to items
  std::vector<JsonNode> items;    // array elements or object member values
};

const char* JsonKindName(JsonNode::Kind kind) {
  switch (kind) {
    case JsonNode::Kind::kNull:
      return "null";
    case JsonNode::Kind::kBool:
      return "bool";
    case JsonNode::Kind::kNumber:
      return "number";
    case JsonNode::Kind::kString:
      return "string";
    case JsonNode::Kind::kArray:
      return "array";
    case JsonNode::Kind::kObject:
      return "object";
  }
  return "value";
}

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  absl::StatusOr<JsonNode> ReadDocument() {
    JsonNode root;
    if (absl::Status status = ReadValue(root, 0); !status.ok()) return status;
    SkipWhitespace();
    if (pos_ != text_.size()) return Error("unexpected data after the top-level value");
    return root;
  }

 private:
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError("invalid JSON at offset " + std::to_string(pos_) + ": " +
                                      what);
  }

  void SkipWhitespace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(char c) {
    SkipWhitespace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  absl::Status ReadValue(JsonNode& out, int depth) {
    SkipWhitespace();
    if (pos_ >= text_.size()) return Error("unexpected end of input");
    char c = text_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= kMaxDepth) return Error("nested too deeply");
      ++pos_;
      return c == '{' ? ReadObject(out, depth) : ReadArray(out, depth);
    }
    if (c == '"') {
      out.kind = JsonNode::Kind::kString;
      return ReadString(out.text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      out.kind = JsonNode::Kind::kNumber;
      return ReadNumber(out.text);
    }
    for (auto [word, kind, boolean] : {std::tuple{"true", JsonNode::Kind::kBool, true},
                                       std::tuple{"false", JsonNode::Kind::kBool, false},
                                       std::tuple{"null", JsonNode::Kind::kNull, false}}) {
      std::string_view literal(word);
      if (text_.substr(pos_, literal.size()) == literal) {
        pos_ += literal.size();
        out.kind = kind;
        out.boolean = boolean;
        return absl::OkStatus();
      }
    }
    return Error("unexpected character");
  }

  absl::Status ReadObject(JsonNode& out, int depth) {
    out.kind = JsonNode::Kind::kObject;
    if (Consume('}')) return absl::OkStatus();
    while (true) {
      SkipWhitespace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected an object key");
      std::string key;
      if (absl::Status status = ReadString(key); !status.ok()) return status;
      if (!Consume(':')) return Error("expected ':' after an object key");
      out.keys.push_back(std::move(key));
      out.items.emplace_back();
      if (absl::Status status = ReadValue(out.items.back(), depth + 1); !status.ok()) {
        return status;
      }
      if (Consume('}')) return absl::OkStatus();
      if (!Consume(',')) return Error("expected ',' or '}' in an object");
    }
  }

  absl::Status ReadArray(JsonNode& out, int depth) {
    out.kind = JsonNode::Kind::kArray;
    if (Consume(']')) return absl::OkStatus();
    while (true) {
      out.items.emplace_back();
      if (absl::Status status = ReadValue(out.items.back(), depth + 1); !status.ok()) {
        return status;
      }
      if (Consume(']')) return absl::OkStatus();
      if (!Consume(',')) return Error("expected ',' or ']' in an array");
    }
  }

  // RFC 8259 number grammar; the text is kept as written.
  absl::Status ReadNumber(std::string& out) {
    size_t start = pos_;
    auto digits = [&] {
      size_t first = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - first;
    };
    if (text_[pos_] == '-') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return Error("invalid number");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return Error("invalid number");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) return Error("invalid number");
    }
    out.assign(text_.substr(start, pos_ - start));
    return absl::OkStatus();
  }

  std::optional<uint32_t> ReadHex4() {
    if (text_.size() - pos_ < 4) return std::nullopt;
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    return value;
  }

  // The length of the well-formed UTF-8 sequence at the start of `text`, or 0 if there is none.
  static size_t Utf8SequenceLength(std::string_view text) {
    auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    unsigned char lead = byte(0);
    size_t length;
    uint32_t code;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      code = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      code = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      code = lead & 0x07;
    } else {
      return 0;
    }
    if (text.size() < length) return 0;
    for (size_t i = 1; i < length; ++i) {
      if ((byte(i) & 0xc0) != 0x80) return 0;
      code = code << 6 | (byte(i) & 0x3f);
    }
    // Reject overlong forms, surrogates and code points beyond U+10FFFF.
    if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) || code > 0x10ffff ||
        (code >= 0xd800 && code < 0xe000)) {
      return 0;
    }
    return length;
  }

  static void AppendUtf8(uint32_t code, std::string& out) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }

  absl::Status ReadString(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= text_.size()) return Error("unterminated string");
      char c = text_[pos_++];
      if (c == '"') return absl::OkStatus();
      if (static_cast<unsigned char>(c) < 0x20) return Error("control character in a string");
      if (static_cast<unsigned char>(c) >= 0x80) {
        // Invalid UTF-8 becomes U+FFFD, as Go's decoder does, so every decoded name and string
        // can be written out again.
        size_t length = Utf8SequenceLength(text_.substr(pos_ - 1));
        if (length == 0) {
          AppendUtf8(0xfffd, out);
        } else {
          out.append(text_.substr(pos_ - 1, length));
          pos_ += length - 1;
        }
        continue;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return Error("unterminated string");
      char escape = text_[pos_++];
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          out += escape;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::optional<uint32_t> code = ReadHex4();
          if (!code) return Error("invalid \\u escape");
          // A surrogate pair spells one code point; unpaired halves become U+FFFD, as Go does.
          if (*code >= 0xd800 && *code < 0xdc00 && text_.substr(pos_, 2) == "\\u") {
            size_t saved = pos_;
            pos_ += 2;
            std::optional<uint32_t> low = ReadHex4();
            if (low && *low >= 0xdc00 && *low < 0xe000) {
              *code = 0x10000 + ((*code - 0xd800) << 10) + (*low - 0xdc00);
            } else {
              pos_ = saved;
            }
          }
          if (*code >= 0xd800 && *code < 0xe000) *code = 0xfffd;
          AppendUtf8(*code, out);
          break;
        }
        default:
          return Error("invalid escape in a string");
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// Type constraints are small JSON documents; convert them for Type::FromJson. Numbers cannot
// appear in a valid constraint, so their precision does not matter here.
nlohmann::json ToNlohmann(const JsonNode& node) {
  switch (node.kind) {
    case JsonNode::Kind::kNull:
      return nullptr;
    case JsonNode::Kind::kBool:
      return node.boolean;
    case JsonNode::Kind::kNumber:
      return std::strtod(node.text.c_str(), nullptr);
    case JsonNode::Kind::kString:
      return node.text;
    case JsonNode::Kind::kArray: {
      nlohmann::json out = nlohmann::json::array();
      for (const JsonNode& item : node.items) out.push_back(ToNlohmann(item));
      return out;
    }
    case JsonNode::Kind::kObject: {
      nlohmann::json out = nlohmann::json::object();
      for (size_t i = 0; i < node.items.size(); ++i) out[node.keys[i]] = ToNlohmann(node.items[i]);
      return out;
    }
  }
  return nullptr;
}

absl::StatusOr<Type> ParseTypeJson(std::string_view text) {
  absl::StatusOr<JsonNode> node = JsonReader(text).ReadDocument();
  if (!node.ok()) return node.status();
  return Type::FromJson(ToNlohmann(*node));
}

// ---------------------------------------------------------------------------------------------
// msgpack decoding.

const char* MsgpackKindName(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
      return "integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "float";
    case msgpack::type::STR:
      return "string";
    case msgpack::type::BIN:
      return "binary";
    case msgpack::type::ARRAY:
      return "array";
    case msgpack::type::MAP:
      return "map";
    case msgpack::type::EXT:
      return "extension";
  }
  return "value";
}

// The protocol treats str and bin alike wherever text is expected.
std::optional<std::string_view> AsText(const msgpack::object& o) {
  if (o.type == msgpack::type::STR) return std::string_view(o.via.str.ptr, o.via.str.size);
  if (o.type == msgpack::type::BIN) return std::string_view(o.via.bin.ptr, o.via.bin.size);
  return std::nullopt;
}

absl::StatusOr<msgpack::object_handle> Unpack(std::string_view bytes) {
  // Every element takes at least one byte, so no honest count exceeds the input size; the limit
  // stops a truncated header from reserving memory for billions of elements.
  size_t n = bytes.size();
  msgpack::unpack_limit limit(n, n, n, n, n, kMaxDepth);
  size_t offset = 0;
  try {
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limit);
    if (offset != bytes.size()) {
      return absl::InvalidArgumentError("invalid msgpack: unexpected data after the value");
    }
    return handle;
  } catch (const msgpack::insufficient_bytes&) {
    return absl::InvalidArgumentError("invalid msgpack: the input is truncated");
  } catch (const msgpack::depth_size_overflow&) {
    return absl::InvalidArgumentError("invalid msgpack: nested too deeply");
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(std::string("invalid msgpack: ") + e.what());
  }
}

absl::StatusOr<Decimal> DecodeNumber(const msgpack::object& o, const Path& path) {
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
      return Decimal::FromUint(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
      return Decimal::FromInt(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: {
      // float32 arrives widened to double, which is exact.
      std::optional<Decimal> number = Decimal::FromDouble(o.via.f64);
      if (!number) return path.Error("NaN is not a valid number");
      return *number;
    }
    case msgpack::type::STR: {
      std::string_view text(o.via.str.ptr, o.via.str.size);
      std::optional<Decimal> number = Decimal::Parse(text);
      // The text is not quoted back: errors reach diagnostics, and values may be secret.
      if (!number) return path.Error("text that is not a valid number");
      return *number;
    }
    default:
      return path.Error(std::string("a number is required, got ") + MsgpackKindName(o));
  }
}

std::optional<int64_t> AsInt64(const msgpack::object& o) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return o.via.i64;
  if (o.type == msgpack::type::POSITIVE_INTEGER &&
      o.via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(o.via.u64);
  }
  return std::nullopt;
}

class MsgpackDecoder {
 public:
  absl::StatusOr<Value> Decode(const msgpack::object& o, const Type& type, int depth) {
    if (depth > kMaxDepth) return path_.Error("nested too deeply");
    // Unknown is checked before null: any extension value means "not yet known".
    if (o.type == msgpack::type::EXT) return DecodeUnknown(o, type);
    if (o.type == msgpack::type::NIL) return Value::Null(type);
    switch (type.kind()) {
      case TypeKind::kDynamic:
        return DecodeDynamic(o, depth);
      case TypeKind::kString: {
        std::optional<std::string_view> text = AsText(o);
        if (!text) return Required("a string", o);
        return Value::String(std::string(*text));
      }
      case TypeKind::kNumber: {
        absl::StatusOr<Decimal> number = DecodeNumber(o, path_);
        if (!number.ok()) return number.status();
        return Value::Number(*std::move(number));
      }
      case TypeKind::kBool:
        if (o.type != msgpack::type::BOOLEAN) return Required("a bool", o);
        return Value::Bool(o.via.boolean);
      case TypeKind::kList:
      case TypeKind::kSet:
      case TypeKind::kTuple:
        return DecodeSequence(o, type, depth);
      case TypeKind::kMap:
        return DecodeMap(o, type, depth);
      case TypeKind::kObject:
        return DecodeObject(o, type, depth);
    }
    return path_.Error("unsupported type");
  }

 private:
  absl::Status Required(const std::string& what, const msgpack::object& o) const {
    return path_.Error(what + " is required, got " + MsgpackKindName(o));
  }

  absl::StatusOr<Value> DecodeUnknown(const msgpack::object& o, const Type& type) {
    const msgpack::object_ext& ext = o.via.ext;
    // Payloads of zero or one byte are the plain unknown, whatever the extension code.
    if (ext.size <= 1) return Value::Unknown(type);
    if (ext.size > kMaxRefinementBytes) return path_.Error("oversize unknown value refinement");
    if (ext.type() != kExtRefinedUnknown || type.is_dynamic()) return Value::Unknown(type);

    absl::StatusOr<msgpack::object_handle> payload = Unpack(std::string_view(ext.data(), ext.size));
    if (!payload.ok()) {
      return path_.Error("invalid unknown value refinements: " +
                         std::string(payload.status().message()));
    }
    const msgpack::object& map = payload->get();
    if (map.type != msgpack::type::MAP) {
      return path_.Error("unknown value refinements must be a map");
    }
    Refinements refinements;
    const bool is_collection = type.is_collection();
    for (uint32_t i = 0; i < map.via.map.size; ++i) {
      const msgpack::object& key = map.via.map.ptr[i].key;
      const msgpack::object& item = map.via.map.ptr[i].val;
      // Keys this version does not know are skipped so that newer hosts stay compatible.
      if (key.type != msgpack::type::POSITIVE_INTEGER) continue;
      switch (key.via.u64) {
        case kRefineNullness:
          if (item.type != msgpack::type::BOOLEAN) {
            return path_.Error("unknown value nullness refinement must be a bool");
          }
          // Only "definitely not null" carries information.
          if (!item.via.boolean) refinements.nullable = false;
          break;
        case kRefineStringPrefix: {
          std::optional<std::string_view> prefix = AsText(item);
          if (!prefix) return path_.Error("unknown value prefix refinement must be a string");
          if (type.kind() == TypeKind::kString) refinements.string_prefix = std::string(*prefix);
          break;
        }
        case kRefineNumberLower:
        case kRefineNumberUpper: {
          if (item.type != msgpack::type::ARRAY || item.via.array.size != 2 ||
              item.via.array.ptr[1].type != msgpack::type::BOOLEAN) {
            return path_.Error("unknown value number bound must be [number, bool]");
          }
          absl::StatusOr<Decimal> bound = DecodeNumber(item.via.array.ptr[0], path_);
          if (!bound.ok()) return bound.status();
          if (type.kind() != TypeKind::kNumber) break;
          auto refinement = std::make_pair(*std::move(bound), item.via.array.ptr[1].via.boolean);
          if (key.via.u64 == kRefineNumberLower) {
            refinements.number_lower = std::move(refinement);
          } else {
            refinements.number_upper = std::move(refinement);
          }
          break;
        }
        case kRefineLengthLower:
        case kRefineLengthUpper: {
          std::optional<int64_t> length = AsInt64(item);
          if (!length) return path_.Error("unknown value length bound must be an integer");
          if (!is_collection) break;
          if (key.via.u64 == kRefineLengthLower) {
            refinements.length_lower = *length;
          } else {
            refinements.length_upper = *length;
          }
          break;
        }
        default:
          break;
      }
    }
    return Value::Unknown(type, std::move(refinements));
  }

  absl::StatusOr<Value> DecodeDynamic(const msgpack::object& o, int depth) {
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 2) {
      return path_.Error("a dynamic value must be a [type, value] array");
    }
    std::optional<std::string_view> type_json = AsText(o.via.array.ptr[0]);
    if (!type_json) return path_.Error("the type of a dynamic value must be JSON text");
    absl::StatusOr<Type> type = ParseTypeJson(*type_json);
    if (!type.ok()) {
      return path_.Error("invalid dynamic value type: " + std::string(type.status().message()));
    }
    return Decode(o.via.array.ptr[1], *type, depth + 1);
  }

  absl::StatusOr<Value> DecodeSequence(const msgpack::object& o, const Type& type, int depth) {
    const char* what = type.kind() == TypeKind::kList  ? "a list"
                       : type.kind() == TypeKind::kSet ? "a set"
                                                       : "a tuple";
    if (o.type != msgpack::type::ARRAY) return Required(what, o);
    const bool tuple = type.kind() == TypeKind::kTuple;
    if (tuple && o.via.array.size != type.elements().size()) {
      return path_.Error("a tuple of " + std::to_string(type.elements().size()) +
                         " elements is required (" + std::to_string(o.via.array.size) + " given)");
    }
    std::vector<Value> elements;
    elements.reserve(o.via.array.size);
    for (uint32_t i = 0; i < o.via.array.size; ++i) {
      Path::Step step(path_, Path::Index(i));
      const Type& element_type = tuple ? type.elements()[i] : type.element();
      absl::StatusOr<Value> element = Decode(o.via.array.ptr[i], element_type, depth + 1);
      if (!element.ok()) return element.status();
      elements.push_back(*std::move(element));
    }
    if (tuple) return Value::Tuple(type, std::move(elements));
    if (type.kind() == TypeKind::kSet) return Value::Set(type.element(), std::move(elements));
    return Value::List(type.element(), std::move(elements));
  }

  absl::StatusOr<Value> DecodeMap(const msgpack::object& o, const Type& type, int depth) {
    if (o.type != msgpack::type::MAP) return Required("a map", o);
    std::map<std::string, Value> entries;
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      std::optional<std::string_view> key = AsText(o.via.map.ptr[i].key);
      if (!key) return path_.Error("map keys must be strings");
      Path::Step step(path_, Path::Key(*key));
      absl::StatusOr<Value> entry = Decode(o.via.map.ptr[i].val, type.element(), depth + 1);
      if (!entry.ok()) return entry.status();
      if (!entries.emplace(std::string(*key), *std::move(entry)).second) {
        return path_.Error("duplicate map key");
      }
    }
    return Value::Map(type.element(), std::move(entries));
  }

  absl::StatusOr<Value> DecodeObject(const msgpack::object& o, const Type& type, int depth) {
    if (o.type != msgpack::type::MAP) return Required("an object", o);
    const auto& attributes = type.attributes();
    // Names first, so that errors name the offending attribute rather than only a count.
    std::set<std::string_view> seen;
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      std::optional<std::string_view> name = AsText(o.via.map.ptr[i].key);
      if (!name) return path_.Error("object attribute names must be strings");
      if (!attributes.contains(std::string(*name))) {
        return path_.Error("unsupported attribute " + Quote(*name));
      }
      if (!seen.insert(*name).second) return path_.Error("duplicate attribute " + Quote(*name));
    }
    if (o.via.map.size != attributes.size()) {
      std::string missing;
      for (const auto& [name, attribute_type] : attributes) {
        if (seen.contains(name)) continue;
        missing += missing.empty() ? "" : ", ";
        missing += Quote(name);
      }
      return path_.Error("an object with " + std::to_string(attributes.size()) +
                         " attributes is required (" + std::to_string(o.via.map.size) +
                         " given); missing " + missing);
    }
    std::map<std::string, Value> values;
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      std::string name(*AsText(o.via.map.ptr[i].key));
      Path::Step step(path_, Path::Attr(name));
      absl::StatusOr<Value> value = Decode(o.via.map.ptr[i].val, attributes.at(name), depth + 1);
      if (!value.ok()) return value.status();
      values.emplace(std::move(name), *std::move(value));
    }
    return Value::Object(type, std::move(values));
  }

  Path path_;
};

// ---------------------------------------------------------------------------------------------
// msgpack encoding.

// Shortens `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string Utf8Prefix(const std::string& text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
  return text.substr(0, end);
}

class MsgpackEncoder {
 public:
  std::string Finish() { return std::string(buffer_.data(), buffer_.size()); }

  void Encode(const Value& value, const Type& type) {
    if (type.is_dynamic()) {
      if (value.type().is_dynamic()) {
        if (value.is_null()) {
          packer_.pack_nil();
        } else if (value.is_unknown()) {
          PackPlainUnknown();  // refinements never travel on dynamic
        } else {
          Fail("a known value cannot have type dynamic");
        }
        return;
      }
      // The slot does not say what the value is, so the concrete type travels with it.
      std::string type_json = Dump(value.type().ToJson());
      packer_.pack_array(2);
      packer_.pack_bin(static_cast<uint32_t>(type_json.size()));
      packer_.pack_bin_body(type_json.data(), static_cast<uint32_t>(type_json.size()));
      Encode(value, value.type());
      return;
    }
    if (value.is_unknown()) {
      PackUnknown(value.refinements(), type);
      return;
    }
    if (value.is_null()) {
      packer_.pack_nil();
      return;
    }
    switch (type.kind()) {
      case TypeKind::kString:
        PackString(value.AsString());
        return;
      case TypeKind::kNumber:
        PackNumber(value.AsNumber());
        return;
      case TypeKind::kBool:
        if (value.AsBool()) {
          packer_.pack_true();
        } else {
          packer_.pack_false();
        }
        return;
      case TypeKind::kList:
      case TypeKind::kSet: {
        const auto& elements = value.Elements();
        packer_.pack_array(static_cast<uint32_t>(elements.size()));
        for (const Value& element : elements) Encode(element, type.element());
        return;
      }
      case TypeKind::kTuple: {
        const auto& elements = value.Elements();
        if (elements.size() != type.elements().size()) Fail("tuple length differs from its type");
        packer_.pack_array(static_cast<uint32_t>(elements.size()));
        for (size_t i = 0; i < elements.size(); ++i) Encode(elements[i], type.elements()[i]);
        return;
      }
      case TypeKind::kMap: {
        const auto& entries = value.Entries();
        packer_.pack_map(static_cast<uint32_t>(entries.size()));
        for (const auto& [key, entry] : entries) {
          PackString(key);
          Encode(entry, type.element());
        }
        return;
      }
      case TypeKind::kObject: {
        // Every attribute of the type is written, in name order as cty does.
        const auto& entries = value.Entries();
        packer_.pack_map(static_cast<uint32_t>(type.attributes().size()));
        for (const auto& [name, attribute_type] : type.attributes()) {
          PackString(name);
          auto found = entries.find(name);
          if (found == entries.end()) {
            packer_.pack_nil();
          } else {
            Encode(found->second, attribute_type);
          }
        }
        return;
      }
      case TypeKind::kDynamic:
        return;  // handled above
    }
  }

 private:
  void PackString(const std::string& text) {
    packer_.pack_str(static_cast<uint32_t>(text.size()));
    packer_.pack_str_body(text.data(), static_cast<uint32_t>(text.size()));
  }

  // Mirrors the host: int64 when exact, float64 when exact (and for infinities), otherwise the
  // decimal text, so that no number is rounded on the way back.
  void PackNumber(const Decimal& number) {
    if (std::optional<int64_t> integer = number.ToInt64()) {
      packer_.pack_int64(*integer);
      return;
    }
    // The host's rule (cty): an integer beyond int64 goes as decimal text even when a double
    // could hold it exactly, because the host reads float64 back at 53 bits of precision and
    // 2^63 would come back as 9223372036854776000. Only a non-integer that is exactly a double
    // goes as float64, and infinities, which have no other form.
    if (number.is_infinite()) {
      PackFloat64(number.ToDouble());
      return;
    }
    if (!number.is_integer()) {
      double approximate = number.ToDouble();
      std::optional<Decimal> back = Decimal::FromDouble(approximate);
      if (back && *back == number) {
        PackFloat64(approximate);
        return;
      }
    }
    PackString(number.ToString());
  }

  // packer::pack_double would shrink integral doubles to msgpack ints, so the float64 form is
  // written by hand.
  void PackFloat64(double value) {
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    char bytes[9];
    bytes[0] = static_cast<char>(0xcb);
    for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
    buffer_.write(bytes, sizeof(bytes));
  }

  void PackPlainUnknown() {
    const char zero = 0;
    packer_.pack_ext(1, kExtUnknown);
    packer_.pack_ext_body(&zero, 1);
  }

  void PackUnknown(const Refinements& refinements, const Type& type) {
    // Only refinements that make sense for the slot's type are sent.
    const bool is_string = type.kind() == TypeKind::kString;
    const bool is_number = type.kind() == TypeKind::kNumber;
    const bool is_collection = type.is_collection();
    msgpack::sbuffer payload;
    msgpack::packer<msgpack::sbuffer> packer(payload);
    uint32_t count = 0;
    if (refinements.nullable) ++count;
    if (is_string && refinements.string_prefix) ++count;
    if (is_number && refinements.number_lower) ++count;
    if (is_number && refinements.number_upper) ++count;
    if (is_collection && refinements.length_lower) ++count;
    if (is_collection && refinements.length_upper) ++count;
    if (count == 0) {
      PackPlainUnknown();
      return;
    }

    packer.pack_map(count);
    if (refinements.nullable) {
      packer.pack_uint64(kRefineNullness);
      packer.pack(*refinements.nullable);
    }
    if (is_string && refinements.string_prefix) {
      std::string prefix = Utf8Prefix(*refinements.string_prefix, kMaxPrefixBytes);
      packer.pack_uint64(kRefineStringPrefix);
      packer.pack_str(static_cast<uint32_t>(prefix.size()));
      packer.pack_str_body(prefix.data(), static_cast<uint32_t>(prefix.size()));
    }
    auto pack_bound = [&](uint64_t key, const std::pair<Decimal, bool>& bound) {
      MsgpackEncoder number;  // bounds follow the same number rules as values
      number.PackNumber(bound.first);
      std::string bytes = number.Finish();
      packer.pack_uint64(key);
      packer.pack_array(2);
      payload.write(bytes.data(), bytes.size());
      packer.pack(bound.second);
    };
    if (is_number && refinements.number_lower) {
      pack_bound(kRefineNumberLower, *refinements.number_lower);
    }
    if (is_number && refinements.number_upper) {
      pack_bound(kRefineNumberUpper, *refinements.number_upper);
    }
    if (is_collection && refinements.length_lower) {
      packer.pack_uint64(kRefineLengthLower);
      packer.pack_int64(*refinements.length_lower);
    }
    if (is_collection && refinements.length_upper) {
      packer.pack_uint64(kRefineLengthUpper);
      packer.pack_int64(*refinements.length_upper);
    }
    packer_.pack_ext(payload.size(), kExtRefinedUnknown);
    packer_.pack_ext_body(payload.data(), static_cast<uint32_t>(payload.size()));
  }

  msgpack::sbuffer buffer_;
  msgpack::packer<msgpack::sbuffer> packer_{buffer_};
};

// ---------------------------------------------------------------------------------------------
// JSON decoding and encoding.

class JsonDecoder {
 public:
  explicit JsonDecoder(bool ignore_unknown_attributes)
      : ignore_unknown_attributes_(ignore_unknown_attributes) {}

  absl::StatusOr<Value> Decode(const JsonNode& node, const Type& type, int depth) {
    if (depth > kMaxDepth) return path_.Error("nested too deeply");
    if (node.kind == JsonNode::Kind::kNull) return Value::Null(type);
    // Scalars follow cty's JSON decoder, which also converts between the primitive forms.
    switch (type.kind()) {
      case TypeKind::kDynamic:
        return DecodeDynamic(node, depth);
      case TypeKind::kString:
        if (node.kind == JsonNode::Kind::kString || node.kind == JsonNode::Kind::kNumber) {
          return Value::String(node.text);
        }
        if (node.kind == JsonNode::Kind::kBool) {
          return Value::String(node.boolean ? "true" : "false");
        }
        return Required("a string", node);
      case TypeKind::kNumber: {
        if (node.kind != JsonNode::Kind::kNumber && node.kind != JsonNode::Kind::kString) {
          return Required("a number", node);
        }
        std::optional<Decimal> number = Decimal::Parse(node.text);
        if (!number) {
          return path_.Error("text that is not a valid number");  // never quoted: may be secret
        }
        return Value::Number(*std::move(number));
      }
      case TypeKind::kBool:
        if (node.kind == JsonNode::Kind::kBool) return Value::Bool(node.boolean);
        if (node.kind == JsonNode::Kind::kString && (node.text == "true" || node.text == "false")) {
          return Value::Bool(node.text == "true");
        }
        return Required("a bool", node);
      case TypeKind::kList:
      case TypeKind::kSet:
      case TypeKind::kTuple:
        return DecodeSequence(node, type, depth);
      case TypeKind::kMap:
        return DecodeMap(node, type, depth);
      case TypeKind::kObject:
        return DecodeObject(node, type, depth);
    }
    return path_.Error("unsupported type");
  }

 private:
  absl::Status Required(const std::string& what, const JsonNode& node) const {
    return path_.Error(what + " is required, got " + JsonKindName(node.kind));
  }

  // Object members by name; JSON allows duplicates, the protocol never sends them.
  absl::StatusOr<std::map<std::string, const JsonNode*>> Members(const JsonNode& node) const {
    std::map<std::string, const JsonNode*> members;
    for (size_t i = 0; i < node.items.size(); ++i) {
      if (!members.emplace(node.keys[i], &node.items[i]).second) {
        return path_.Error("duplicate key " + Quote(node.keys[i]));
      }
    }
    return members;
  }

  absl::StatusOr<Value> DecodeDynamic(const JsonNode& node, int depth) {
    if (node.kind != JsonNode::Kind::kObject) {
      return path_.Error("a dynamic value must be an object with \"value\" and \"type\"");
    }
    absl::StatusOr<std::map<std::string, const JsonNode*>> members = Members(node);
    if (!members.ok()) return members.status();
    for (const auto& [key, member] : *members) {
      if (key != "value" && key != "type") {
        return path_.Error("unexpected key " + Quote(key) + " in a dynamic value");
      }
    }
    if (!members->contains("value") || !members->contains("type")) {
      return path_.Error("a dynamic value must have both \"value\" and \"type\"");
    }
    absl::StatusOr<Type> type = Type::FromJson(ToNlohmann(*members->at("type")));
    if (!type.ok()) {
      return path_.Error("invalid dynamic value type: " + std::string(type.status().message()));
    }
    return Decode(*members->at("value"), *type, depth + 1);
  }

  absl::StatusOr<Value> DecodeSequence(const JsonNode& node, const Type& type, int depth) {
    const char* what = type.kind() == TypeKind::kList  ? "a list"
                       : type.kind() == TypeKind::kSet ? "a set"
                                                       : "a tuple";
    if (node.kind != JsonNode::Kind::kArray) return Required(what, node);
    const bool tuple = type.kind() == TypeKind::kTuple;
    if (tuple && node.items.size() != type.elements().size()) {
      return path_.Error("a tuple of " + std::to_string(type.elements().size()) +
                         " elements is required (" + std::to_string(node.items.size()) + " given)");
    }
    std::vector<Value> elements;
    elements.reserve(node.items.size());
    for (size_t i = 0; i < node.items.size(); ++i) {
      Path::Step step(path_, Path::Index(i));
      const Type& element_type = tuple ? type.elements()[i] : type.element();
      absl::StatusOr<Value> element = Decode(node.items[i], element_type, depth + 1);
      if (!element.ok()) return element.status();
      elements.push_back(*std::move(element));
    }
    if (tuple) return Value::Tuple(type, std::move(elements));
    if (type.kind() == TypeKind::kSet) return Value::Set(type.element(), std::move(elements));
    return Value::List(type.element(), std::move(elements));
  }

  absl::StatusOr<Value> DecodeMap(const JsonNode& node, const Type& type, int depth) {
    if (node.kind != JsonNode::Kind::kObject) return Required("a map", node);
    absl::StatusOr<std::map<std::string, const JsonNode*>> members = Members(node);
    if (!members.ok()) return members.status();
    std::map<std::string, Value> entries;
    for (const auto& [key, member] : *members) {
      Path::Step step(path_, Path::Key(key));
      absl::StatusOr<Value> entry = Decode(*member, type.element(), depth + 1);
      if (!entry.ok()) return entry.status();
      entries.emplace(key, *std::move(entry));
    }
    return Value::Map(type.element(), std::move(entries));
  }

  absl::StatusOr<Value> DecodeObject(const JsonNode& node, const Type& type, int depth) {
    if (node.kind != JsonNode::Kind::kObject) return Required("an object", node);
    absl::StatusOr<std::map<std::string, const JsonNode*>> members = Members(node);
    if (!members.ok()) return members.status();
    std::map<std::string, Value> values;
    for (const auto& [name, member] : *members) {
      auto attribute = type.attributes().find(name);
      if (attribute == type.attributes().end()) {
        if (ignore_unknown_attributes_) continue;
        return path_.Error("unsupported attribute " + Quote(name));
      }
      Path::Step step(path_, Path::Attr(name));
      absl::StatusOr<Value> value = Decode(*member, attribute->second, depth + 1);
      if (!value.ok()) return value.status();
      values.emplace(name, *std::move(value));
    }
    // Value::Object fills the attributes the JSON left out with nulls.
    return Value::Object(type, std::move(values));
  }

  bool ignore_unknown_attributes_;
  Path path_;
};

class JsonEncoder {
 public:
  std::string Finish() { return std::move(out_); }

  void Encode(const Value& value, const Type& type) {
    if (type.is_dynamic() && !value.type().is_dynamic()) {
      out_ += "{\"value\":";
      Encode(value, value.type());
      out_ += ",\"type\":";
      out_ += Dump(value.type().ToJson());
      out_ += '}';
      return;
    }
    if (value.is_unknown()) Fail("EncodeJson cannot encode an unknown value");
    if (value.is_null()) {
      out_ += "null";
      return;
    }
    switch (type.kind()) {
      case TypeKind::kString:
        out_ += Quote(value.AsString());
        return;
      case TypeKind::kNumber: {
        const Decimal& number = value.AsNumber();
        // JSON has no infinity. The strings "+Inf" and "-Inf" are what both our decoder and
        // cty's (via big.Float) accept for a number given as a string, so they round-trip.
        out_ += number.is_infinite() ? Quote(number.ToString()) : number.ToString();
        return;
      }
      case TypeKind::kBool:
        out_ += value.AsBool() ? "true" : "false";
        return;
      case TypeKind::kList:
      case TypeKind::kSet:
      case TypeKind::kTuple: {
        const auto& elements = value.Elements();
        const bool tuple = type.kind() == TypeKind::kTuple;
        if (tuple && elements.size() != type.elements().size()) {
          Fail("tuple length differs from its type");
        }
        out_ += '[';
        for (size_t i = 0; i < elements.size(); ++i) {
          if (i > 0) out_ += ',';
          Encode(elements[i], tuple ? type.elements()[i] : type.element());
        }
        out_ += ']';
        return;
      }
      case TypeKind::kMap: {
        out_ += '{';
        bool first = true;
        for (const auto& [key, entry] : value.Entries()) {
          if (!first) out_ += ',';
          first = false;
          out_ += Quote(key);
          out_ += ':';
          Encode(entry, type.element());
        }
        out_ += '}';
        return;
      }
      case TypeKind::kObject: {
        const auto& entries = value.Entries();
        out_ += '{';
        bool first = true;
        for (const auto& [name, attribute_type] : type.attributes()) {
          if (!first) out_ += ',';
          first = false;
          out_ += Quote(name);
          out_ += ':';
          auto found = entries.find(name);
          if (found == entries.end()) {
            out_ += "null";
          } else {
            Encode(found->second, attribute_type);
          }
        }
        out_ += '}';
        return;
      }
      case TypeKind::kDynamic:
        Fail("a known value cannot have type dynamic");
    }
  }

 private:
  std::string out_;
};

}  // namespace

absl::StatusOr<Value> DecodeMsgpack(std::string_view bytes, const Type& type) {
  absl::StatusOr<msgpack::object_handle> handle = Unpack(bytes);
  if (!handle.ok()) return handle.status();
  return MsgpackDecoder().Decode(handle->get(), type, 0);
}

std::string EncodeMsgpack(const Value& value, const Type& type) {
  MsgpackEncoder encoder;
  encoder.Encode(value, type);
  return encoder.Finish();
}

absl::StatusOr<Value> DecodeJson(std::string_view text, const Type& type,
                                 bool ignore_unknown_attributes) {
  absl::StatusOr<JsonNode> root = JsonReader(text).ReadDocument();
  if (!root.ok()) return root.status();
  return JsonDecoder(ignore_unknown_attributes).Decode(*root, type, 0);
}

std::string EncodeJson(const Value& value, const Type& type) {
  JsonEncoder encoder;
  encoder.Encode(value, type);
  return encoder.Finish();
}

}  // namespace arnica::tf
