// Token display labels: bytes -> visible UTF-8 (see token_label.h for the mapping).
#include "text/token_label.h"

#include <cstdio>

#include "distilscope/tokenizer.h"
#include "text/unicode.h"

namespace ds {

namespace {
std::string byte_label(uint8_t b) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\xE2\x9F\xA8" "0x%02X" "\xE2\x9F\xA9", b);  // ⟨0xHH⟩
  return buf;
}
}  // namespace

std::string token_label_from_bytes(std::string_view bytes) {
  if (bytes.empty()) return "\xE2\x88\x85";  // ∅
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    uint8_t b = uint8_t(bytes[i]);
    size_t len = text::utf8_valid_len(bytes, i);
    if (len == 0) {
      out += byte_label(b);
      ++i;
      continue;
    }
    if (len == 1) {
      switch (b) {
        case ' ': out += "\xC2\xB7"; break;       // ·
        case '\n': out += "\xE2\x86\xB5"; break;  // ↵
        case '\t': out += "\xE2\x87\xA5"; break;  // ⇥
        default:
          if (b < 0x20 || b == 0x7F) out += byte_label(b);
          else out += char(b);
      }
    } else {
      uint32_t cp = text::utf8_decode(bytes, i, len);
      if (cp >= 0x80 && cp < 0xA0)  // C1 control characters: invisible, shown byte by byte
        for (size_t k = 0; k < len; ++k) out += byte_label(uint8_t(bytes[i + k]));
      else
        out.append(bytes.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string token_label(const Tokenizer& tokenizer, int32_t id) {
  if (id < 0 || id >= tokenizer.vocab_size()) return "#" + std::to_string(id);
  std::string bytes = tokenizer.token_bytes(id);
  if (bytes.empty()) return std::string(tokenizer.piece(id));
  return token_label_from_bytes(bytes);
}

}  // namespace ds
