// Section: strict reading of one JSON object of a training config or distillation plan -- typed reads of
// optional keys (missing = keep the default), then finish() refuses keys that were never read (a typo would
// otherwise be silently ignored). Shared by train_config.cpp and distill_plan.cpp.
#pragma once
#include <optional>
#include <set>
#include <string>

#include "model/dtype.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace ds::train {

DType parse_float_type(const std::string& s, const std::string& what);  // train_config.h

// One object of the document: typed reads of optional keys (missing = keep the default), then
// finish() refuses keys that were never read (typos would otherwise be silently ignored).
class Section {
 public:
  explicit Section(const JsonRef& obj) {
    if (!obj.is_object()) obj.fail_here("is not an object");
    ref_ = obj;
  }
  Section(const JsonRef& root, const char* key) {
    if (auto r = root.opt(key)) {
      if (!r->is_object()) r->fail_here("is not an object");
      ref_ = *r;
    }
  }
  template <class T>
  void num(const char* key, T& v, double lo, double hi) {
    auto r = find(key);
    if (!r) return;
    if constexpr (std::is_integral_v<T>) {
      v = T(r->as_int(int64_t(lo), int64_t(hi)));
    } else {
      const double d = r->as_double();
      if (!(d >= lo && d <= hi)) r->fail_here(cat("is ", d, ", expected a number in [", lo, ", ", hi, "]"));
      v = T(d);
    }
  }
  void flag(const char* key, bool& v) {
    if (auto r = find(key)) v = r->as_bool();
  }
  void str(const char* key, std::string& v) {
    if (auto r = find(key)) v = r->as_string();
  }
  void type(const char* key, DType& v) {
    if (auto r = find(key)) v = parse_float_type(r->as_string(), cat(r->doc(), ": key '", r->path(), "'"));
  }
  void finish() const {
    if (!ref_) return;
    for (const auto& [k, r] : ref_->members())
      if (!seen_.count(std::string(k))) r.fail_here(cat("is not a known setting (see docs/training.md, ", help_, ")"));
  }

  // Any other value (marked as read).
  std::optional<JsonRef> find(const char* key) {
    seen_.insert(key);
    return ref_ ? ref_->opt(key) : std::nullopt;
  }

 private:
  std::optional<JsonRef> ref_;
  std::set<std::string> seen_;

 public:
  std::string help_ = "Trainer";
};

}  // namespace ds::train
