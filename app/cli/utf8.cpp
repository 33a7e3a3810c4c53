// Lenient UTF-8 decoding and re-encoding.
#include "utf8.h"

#include <cstdint>

namespace ds::cli {

std::vector<int> code_points(const std::string& s) {
  std::vector<int> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = uint8_t(s[i]);
    const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + size_t(n) > s.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    int cp = n == 1 ? c : c & (0x3F >> (n - 1));
    bool ok = true;
    for (int k = 1; k < n; ++k) {
      const auto d = uint8_t(s[i + size_t(k)]);
      ok = ok && (d >> 6) == 2;
      cp = (cp << 6) | (d & 0x3F);
    }
    out.push_back(ok ? cp : 0xFFFD);
    i += ok ? size_t(n) : 1;
  }
  return out;
}

std::string valid_utf8(const std::string& s) {
  std::string out;
  for (int cp : code_points(s)) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

}  // namespace ds::cli
