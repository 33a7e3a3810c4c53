// ds::Error and ds::cat(): the engine's one exception type, with messages built from parts so
// that every error can name the thing and the numbers ("[gguf] tensor blk.3.attn_q.weight: ...").
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ds {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Concatenates any streamable values: cat("tensor ", name, " has ", n, " bytes").
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}

template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(cat(args...));
}

// Human-readable byte counts: 1536 -> "1.5 KiB".
std::string format_bytes(double bytes);

}  // namespace ds

#define DS_CHECK(cond, ...)              \
  do {                                   \
    if (!(cond)) ::ds::fail(__VA_ARGS__); \
  } while (0)
