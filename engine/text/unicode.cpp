// UTF-8 helpers and the GPT-2 byte-level alphabet (see unicode.h).
#include "text/unicode.h"

#include <array>

namespace ds::text {

size_t utf8_lead_len(uint8_t first) {
  if (first < 0xC0) return 1;  // ASCII or a stray continuation byte
  if (first < 0xE0) return 2;
  if (first < 0xF0) return 3;
  return 4;
}

namespace {

bool is_cont(uint8_t b) { return (b & 0xC0) == 0x80; }

// Valid range for the second byte, which rules out overlongs, surrogates and > U+10FFFF.
struct SecondByteRange {
  uint8_t lo, hi;
};
SecondByteRange second_byte_range(uint8_t lead) {
  switch (lead) {
    case 0xE0: return {0xA0, 0xBF};
    case 0xED: return {0x80, 0x9F};
    case 0xF0: return {0x90, 0xBF};
    case 0xF4: return {0x80, 0x8F};
    default: return {0x80, 0xBF};
  }
}

// Expected length of a character starting with `lead`, 0 when no valid character starts so.
size_t expected_len(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // continuation byte or overlong 2-byte lead
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF5) return 4;
  return 0;
}

}  // namespace

size_t utf8_valid_len(std::string_view s, size_t pos) {
  const auto lead = uint8_t(s[pos]);
  size_t n = expected_len(lead);
  if (n <= 1 || pos + n > s.size()) return n == 1 ? 1 : 0;
  auto [lo, hi] = second_byte_range(lead);
  auto b1 = uint8_t(s[pos + 1]);
  if (b1 < lo || b1 > hi) return 0;
  for (size_t i = 2; i < n; ++i)
    if (!is_cont(uint8_t(s[pos + i]))) return 0;
  return n;
}

bool utf8_incomplete_tail(std::string_view s, size_t pos) {
  const auto lead = uint8_t(s[pos]);
  size_t n = expected_len(lead);
  size_t have = s.size() - pos;
  if (n <= 1 || have >= n) return false;
  if (have >= 2) {
    auto [lo, hi] = second_byte_range(lead);
    auto b1 = uint8_t(s[pos + 1]);
    if (b1 < lo || b1 > hi) return false;
  }
  for (size_t i = 2; i < have; ++i)
    if (!is_cont(uint8_t(s[pos + i]))) return false;
  return true;
}

uint32_t utf8_decode(std::string_view s, size_t pos, size_t len) {
  const auto b = [&](size_t i) { return uint32_t(uint8_t(s[pos + i])); };
  switch (len) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}


namespace {

// byte -> code point of GPT-2's reversible byte alphabet.
std::array<uint32_t, 256> make_byte_alphabet() {
  std::array<uint32_t, 256> cp{};
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    cp[size_t(b)] = printable ? uint32_t(b) : next++;
  }
  return cp;
}

const std::array<uint32_t, 256>& byte_alphabet() {
  static const auto a = make_byte_alphabet();
  return a;
}

}  // namespace

const std::string& byte_to_unicode(uint8_t b) {
  static const auto table = [] {
    std::array<std::string, 256> t;
    for (int i = 0; i < 256; ++i) utf8_append(t[size_t(i)], byte_alphabet()[size_t(i)]);
    return t;
  }();
  return table[b];
}

int unicode_to_byte(uint32_t cp) {
  static const auto inverse = [] {
    std::array<int16_t, 512> inv;
    inv.fill(-1);
    for (int b = 0; b < 256; ++b) inv[byte_alphabet()[size_t(b)]] = int16_t(b);
    return inv;
  }();
  return cp < inverse.size() ? inverse[cp] : -1;
}

}  // namespace ds::text
