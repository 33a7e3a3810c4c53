// UTF-8 encoding of one code point, shared by the tokenizers and the JSON parser; and the length of the
// character at a position, for lenient decoding of token pieces (probe labels, CLI output).
#pragma once
#include <cstdint>
#include <cstddef>
#include <string>
#include <string_view>

namespace ds {

// Appends the UTF-8 bytes of code point cp (callers pass valid scalar values, < 0x110000).
inline void utf8_append(std::string& out, uint32_t cp) {
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

// Length (1..4) of the UTF-8 character starting at s[i], or 0 when the bytes there do not form one (a
// stray continuation byte, a truncated sequence: e.g. one byte of a character split over tokens).
// Lead and continuation bytes are checked, overlong forms are not.
inline size_t utf8_char_len(std::string_view s, size_t i) {
  const auto c = uint8_t(s[i]);
  const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((uint8_t(s[i + k]) >> 6) != 2) return 0;
  return n;
}

}  // namespace ds
