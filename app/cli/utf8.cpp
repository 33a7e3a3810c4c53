// Lenient UTF-8 decoding and re-encoding.
#include "utf8.h"

#include <cstdint>

#include "util/utf8.h"

namespace ds::cli {

std::vector<int> code_points(const std::string& s) {
  std::vector<int> out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_char_len(s, i);
    if (n == 0) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    int cp = n == 1 ? uint8_t(s[i]) : uint8_t(s[i]) & (0x3F >> (n - 1));
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::string valid_utf8(const std::string& s) {
  std::string out;
  for (int cp : code_points(s)) utf8_append(out, uint32_t(cp));
  return out;
}

}  // namespace ds::cli
