// UTF-8 helpers for the tokenizers (character lengths, validation, code point encode/decode) and
// the GPT-2 byte-level mapping that turns every byte into a printable Unicode character.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/utf8.h"

namespace ds::text {

// Length of the UTF-8 sequence announced by its first byte (1 for ASCII and stray continuation
// bytes, 2..4 for lead bytes), without looking at what follows.
size_t utf8_lead_len(uint8_t first);

// Length of the valid UTF-8 character at s[pos], or 0 when the bytes there do not form one
// (bad lead byte, bad continuation, overlong, surrogate, > U+10FFFF, or cut off by the end).
size_t utf8_valid_len(std::string_view s, size_t pos);

// True when s[pos..] is the beginning of a valid character that the end of s cut short.
bool utf8_incomplete_tail(std::string_view s, size_t pos);

uint32_t utf8_decode(std::string_view s, size_t pos, size_t len);  // len from utf8_valid_len
using ds::utf8_append;  // util/utf8.h

inline constexpr std::string_view k_spm_space = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK
inline constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD

// GPT-2 bytes_to_unicode: printable bytes map to themselves, the others to U+0100 upwards.
const std::string& byte_to_unicode(uint8_t b);  // UTF-8 of the mapped character
// Inverse; -1 when the code point is not one of the 256 mapped characters.
int unicode_to_byte(uint32_t cp);

}  // namespace ds::text
