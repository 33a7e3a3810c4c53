// Display labels for tokens (attention axes, logit-lens tables, token lists): the token's bytes as
// text, with what cannot be shown as itself made visible. A token may hold part of a UTF-8
// character (byte fallback, byte-level BPE): those bytes become "⟨0xE2⟩" labels.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace ds {

class Tokenizer;

// Valid UTF-8 characters are kept, except: space -> "·", '\n' -> "↵", '\t' -> "⇥",
// other control characters and bytes that do not form a complete valid character -> "⟨0xHH⟩".
// "" -> "∅".
std::string token_label_from_bytes(std::string_view bytes);

// Label of a vocabulary token: its bytes as above; control/unknown tokens (no bytes) show their
// vocabulary text ("<s>", "<|im_end|>"). Out-of-range ids give "#id".
std::string token_label(const Tokenizer& tokenizer, int32_t id);

}  // namespace ds
