// JSON DOM parser (recursive descent over a string_view; positions are turned into line:column only
// when an error is reported) and the JsonRef accessors with key-path errors.
#include "util/json_parse.h"
#include "util/utf8.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>

#include "util/error.h"

namespace ds {

const char* json_type_name(JsonType t) {
  switch (t) {
    case JsonType::Null: return "null";
    case JsonType::Bool: return "a boolean";
    case JsonType::Number: return "a number";
    case JsonType::String: return "a string";
    case JsonType::Array: return "an array";
    case JsonType::Object: return "an object";
  }
  return "?";
}

const JsonValue* JsonValue::find(std::string_view key) const {
  if (type != JsonType::Object) return nullptr;
  auto it = std::lower_bound(by_key.begin(), by_key.end(), key,
                             [&](uint32_t i, std::string_view k) { return keys[i] < k; });
  if (it == by_key.end() || keys[*it] != key) return nullptr;
  return &items[*it];
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, std::string_view name, const JsonParseOptions& o)
      : s_(text), name_(name), opt_(o), scratch_(size_t(std::max(o.max_depth, 0)) + 2) {}

  JsonValue document() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // tolerate a UTF-8 byte order mark
    skip_ws();
    JsonValue v = value(0);
    skip_ws();
    if (pos_ != s_.size()) error(pos_, "unexpected characters after the end of the document");
    return v;
  }

 private:
  [[noreturn]] void error(size_t at, const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else if ((uint8_t(s_[i]) & 0xC0) != 0x80) {  // count characters, not UTF-8 continuation bytes
        ++col;
      }
    }
    fail("[json] ", name_, ":", line, ":", col, ": ", what);
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void skip_ws() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  JsonValue value(int depth) {
    if (at_end()) error(pos_, "unexpected end of input, expected a value");
    char c = s_[pos_];
    if (c == '{') return object(depth + 1);
    if (c == '[') return array(depth + 1);
    JsonValue v;
    if (c == '"') {
      v.type = JsonType::String;
      v.string = string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      number(v);
    } else if (literal("true")) {
      v.type = JsonType::Bool;
      v.boolean = true;
    } else if (literal("false")) {
      v.type = JsonType::Bool;
    } else if (literal("null")) {
      v.type = JsonType::Null;
    } else {
      error(pos_, cat("expected a value (object, array, string, number, true, false or null), found ", shown(c)));
    }
    return v;
  }

  static std::string shown(char c) {
    if (uint8_t(c) < 0x20 || uint8_t(c) >= 0x7f) return cat("byte 0x", std::hex, int(uint8_t(c)));
    return cat("'", c, "'");
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  void enter(int depth) const {
    if (depth > opt_.max_depth) error(pos_, cat("nesting deeper than ", opt_.max_depth, " levels"));
  }

  // Children are collected in a per-depth scratch vector (reused, so big arrays do not reallocate
  // and move their elements over and over) and then moved into an exactly sized one.
  std::vector<JsonValue>& scratch(int depth) {  // scratch_ is sized once: references stay valid
    scratch_[size_t(depth)].clear();
    return scratch_[size_t(depth)];
  }
  void take(std::vector<JsonValue>& from, std::vector<JsonValue>& to) {
    to.reserve(from.size());
    for (auto& x : from) to.push_back(std::move(x));
    from.clear();
  }

  JsonValue object(int depth) {
    enter(depth);
    JsonValue v;
    v.type = JsonType::Object;
    std::vector<size_t> key_at;
    ++pos_;  // '{'
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      return v;
    }
    std::vector<JsonValue>& items = scratch(depth);
    for (;;) {
      skip_ws();
      if (peek() != '"') error(pos_, at_end() ? "unexpected end of input, expected a string key" : "expected a string key");
      key_at.push_back(pos_);
      v.keys.push_back(string());
      skip_ws();
      if (peek() != ':') error(pos_, "expected ':' after object key");
      ++pos_;
      skip_ws();
      items.push_back(value(depth));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        break;
      }
      error(pos_, "expected ',' or '}' after object member");
    }
    take(scratch_[size_t(depth)], v.items);
    v.by_key.resize(v.keys.size());
    for (uint32_t i = 0; i < v.by_key.size(); ++i) v.by_key[i] = i;
    std::stable_sort(v.by_key.begin(), v.by_key.end(), [&](uint32_t a, uint32_t b) { return v.keys[a] < v.keys[b]; });
    for (size_t i = 1; i < v.by_key.size(); ++i)
      if (v.keys[v.by_key[i]] == v.keys[v.by_key[i - 1]]) error(key_at[v.by_key[i]], cat("duplicate key \"", v.keys[v.by_key[i]], "\""));
    return v;
  }

  JsonValue array(int depth) {
    enter(depth);
    JsonValue v;
    v.type = JsonType::Array;
    ++pos_;  // '['
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      return v;
    }
    std::vector<JsonValue>& items = scratch(depth);
    for (;;) {
      skip_ws();
      items.push_back(value(depth));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        break;
      }
      error(pos_, "expected ',' or ']' after array element");
    }
    take(scratch_[size_t(depth)], v.items);
    return v;
  }

  uint32_t hex4(size_t at) {
    if (pos_ + 4 > s_.size()) error(at, "unterminated \\u escape, expected 4 hex digits");
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) error(pos_ - 1, cat("invalid \\u escape: ", shown(c), " is not a hex digit"));
      cp = cp * 16 + uint32_t(d);
    }
    return cp;
  }

  // Parses a string starting at '"'; returns its UTF-8 bytes.
  std::string string() {
    size_t start = pos_++;
    std::string out;
    for (;;) {
      size_t run = pos_;
      while (pos_ < s_.size() && s_[pos_] != '"' && s_[pos_] != '\\' && uint8_t(s_[pos_]) >= 0x20) ++pos_;
      out.append(s_.data() + run, pos_ - run);
      if (at_end()) error(start, "unterminated string");
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c != '\\') error(pos_, cat("control character ", shown(c), " in a string (must be escaped)"));
      size_t esc = pos_++;
      if (at_end()) error(start, "unterminated string");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4(esc);
          if (cp >= 0xDC00 && cp <= 0xDFFF) error(esc, cat("lone low surrogate \\u", std::hex, cp, " (no high surrogate before it)"));
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") error(esc, cat("lone high surrogate \\u", std::hex, cp, " (expected a \\uDC00-\\uDFFF escape after it)"));
            size_t esc2 = pos_;
            pos_ += 2;
            uint32_t lo = hex4(esc2);
            if (lo < 0xDC00 || lo > 0xDFFF)
              error(esc2, cat("high surrogate \\u", std::hex, cp, " followed by \\u", lo, ", which is not a low surrogate"));
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          utf8_append(out, cp);
          break;
        }
        default: error(esc, cat("invalid escape '\\", e, "' (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"));
      }
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  void number(JsonValue& v) {
    size_t start = pos_;
    auto digits = [&] {
      size_t d = pos_;
      while (!at_end() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - d;
    };
    if (peek() == '-') ++pos_;
    size_t int_start = pos_;
    size_t n_int = digits();
    if (n_int == 0) error(pos_, "invalid number: expected a digit");
    if (n_int > 1 && s_[int_start] == '0') error(int_start, "invalid number: leading zeros are not allowed");
    bool plain_integer = true, negative_exponent = false;
    if (peek() == '.') {
      ++pos_;
      plain_integer = false;
      if (digits() == 0) error(pos_, "invalid number: expected a digit after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      plain_integer = false;
      if (peek() == '+' || peek() == '-') negative_exponent = s_[pos_++] == '-';
      if (digits() == 0) error(pos_, "invalid number: expected a digit in the exponent");
    }
    const char* b = s_.data() + start;
    const char* e = s_.data() + pos_;
    v.type = JsonType::Number;
    auto r = std::from_chars(b, e, v.number);
    if (r.ec == std::errc::result_out_of_range) {
      bool underflow = plain_integer ? false : (negative_exponent || s_[int_start] == '0');
      if (!underflow) error(start, cat("number ", std::string_view(b, size_t(e - b)), " is out of range"));
      v.number = *b == '-' ? -0.0 : 0.0;
    } else if (r.ec != std::errc() || r.ptr != e) {
      error(start, "invalid number");
    }
    if (plain_integer) {
      int64_t i = 0;
      auto ri = std::from_chars(b, e, i);
      if (ri.ec == std::errc() && ri.ptr == e) {
        v.integral = true;
        v.integer = i;
      }
    } else if (std::fabs(v.number) <= 9007199254740992.0 && v.number == std::floor(v.number)) {
      v.integral = true;
      v.integer = int64_t(v.number);
    }
  }

  std::string_view s_;
  std::string_view name_;
  JsonParseOptions opt_;
  std::vector<std::vector<JsonValue>> scratch_;  // by depth
  size_t pos_ = 0;
};

std::string short_repr(const JsonValue& v) {
  switch (v.type) {
    case JsonType::Null: return "null";
    case JsonType::Bool: return v.boolean ? "true" : "false";
    case JsonType::Number: return v.integral ? std::to_string(v.integer) : cat(v.number);
    case JsonType::String: return v.string.size() > 40 ? cat("a string (\"", v.string.substr(0, 40), "...\")") : cat("a string (\"", v.string, "\")");
    case JsonType::Array: return cat("an array of ", v.items.size());
    case JsonType::Object: return "an object";
  }
  return "?";
}

}  // namespace

JsonValue parse_json(std::string_view text, std::string_view name, const JsonParseOptions& opt) {
  return Parser(text, name, opt).document();
}

JsonDocument read_json_file(const std::string& path, const JsonParseOptions& opt) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail(path, ": cannot open: ", std::strerror(errno));
  std::string text(size_t(f.tellg()), '\0');
  f.seekg(0);
  f.read(text.data(), std::streamsize(text.size()));
  if (!f) fail(path, ": read failed");
  JsonDocument d;
  d.name = path;
  d.root = parse_json(text, path, opt);
  return d;
}

// ---- JsonRef ----

std::string JsonRef::where() const {
  return path_.empty() ? cat(*doc_, ": the document") : cat(*doc_, ": key '", path_, "'");
}

void JsonRef::fail_here(const std::string& what) const { fail(where(), " ", what); }

void JsonRef::expect(JsonType t) const {
  if (v_->type != t) fail_here(cat("is ", short_repr(*v_), ", expected ", json_type_name(t)));
}

bool JsonRef::has(std::string_view key) const { return v_->find(key) != nullptr; }

JsonRef JsonRef::get(std::string_view key) const {
  expect(JsonType::Object);
  const JsonValue* m = v_->find(key);
  std::string p = path_.empty() ? std::string(key) : cat(path_, ".", key);
  if (!m) fail(*doc_, ": required key '", p, "' is missing");
  return child(*m, std::move(p));
}

std::optional<JsonRef> JsonRef::opt(std::string_view key) const {
  expect(JsonType::Object);
  const JsonValue* m = v_->find(key);
  if (!m || m->type == JsonType::Null) return std::nullopt;
  return child(*m, path_.empty() ? std::string(key) : cat(path_, ".", key));
}

size_t JsonRef::size() const {
  if (v_->type != JsonType::Array && v_->type != JsonType::Object) fail_here(cat("is ", short_repr(*v_), ", expected an array"));
  return v_->items.size();
}

JsonRef JsonRef::at(size_t i) const {
  if (i >= size()) fail_here(cat("has ", size(), " elements; element ", i, " does not exist"));
  if (v_->type == JsonType::Object) return child(v_->items[i], path_.empty() ? v_->keys[i] : cat(path_, ".", v_->keys[i]));
  return child(v_->items[i], cat(path_, "[", i, "]"));
}

std::vector<std::pair<std::string_view, JsonRef>> JsonRef::members() const {
  expect(JsonType::Object);
  std::vector<std::pair<std::string_view, JsonRef>> out;
  out.reserve(v_->items.size());
  for (size_t i = 0; i < v_->items.size(); ++i) out.emplace_back(v_->keys[i], at(i));
  return out;
}

bool JsonRef::as_bool() const {
  expect(JsonType::Bool);
  return v_->boolean;
}

double JsonRef::as_double() const {
  expect(JsonType::Number);
  return v_->number;
}

int64_t JsonRef::as_int() const {
  expect(JsonType::Number);
  if (!v_->integral) fail_here(cat("is ", short_repr(*v_), ", expected an integer"));
  return v_->integer;
}

int64_t JsonRef::as_int(int64_t lo, int64_t hi) const {
  int64_t i = as_int();
  if (i < lo || i > hi) fail_here(cat("is ", i, ", expected an integer in [", lo, ", ", hi, "]"));
  return i;
}

const std::string& JsonRef::as_string() const {
  expect(JsonType::String);
  return v_->string;
}

bool JsonRef::bool_or(std::string_view key, bool d) const {
  auto m = opt(key);
  return m ? m->as_bool() : d;
}
double JsonRef::double_or(std::string_view key, double d) const {
  auto m = opt(key);
  return m ? m->as_double() : d;
}
int64_t JsonRef::int_or(std::string_view key, int64_t d) const {
  auto m = opt(key);
  return m ? m->as_int() : d;
}
std::string JsonRef::string_or(std::string_view key, std::string d) const {
  auto m = opt(key);
  return m ? m->as_string() : d;
}

void write_json(JsonWriter& w, const JsonValue& v) {
  switch (v.type) {
    case JsonType::Null: w.null(); break;
    case JsonType::Bool: w.value(v.boolean); break;
    case JsonType::Number:
      if (v.integral) w.value(v.integer);
      else w.value(v.number);
      break;
    case JsonType::String: w.value(std::string_view(v.string)); break;
    case JsonType::Array:
      w.begin_array();
      for (auto& i : v.items) write_json(w, i);
      w.end_array();
      break;
    case JsonType::Object:
      w.begin_object();
      for (size_t i = 0; i < v.items.size(); ++i) {
        w.key(v.keys[i]);
        write_json(w, v.items[i]);
      }
      w.end_object();
      break;
  }
}

}  // namespace ds
