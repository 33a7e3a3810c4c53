// Compact byte encodings used by the store: lossless blob compression (byte-plane shuffle of the
// elements, then zlib) and the packed list of a token's top alternatives.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "distilscope/store_records.h"

namespace ds::store {

struct Encoded {
  std::string codec;            // "shuffle+zlib", "zlib" or "raw"
  std::vector<uint8_t> data;
};

// Elements wider than one byte are split into byte planes (all first bytes, then all second
// bytes, ...) before zlib: float exponents line up and compress far better. Falls back to "raw"
// when compression would not save anything.
Encoded encode_blob(std::span<const uint8_t> raw, size_t element_size);
// Inverse of encode_blob; checks the decoded size against raw_bytes. `what` names the blob.
std::vector<uint8_t> decode_blob(const std::string& codec, std::span<const uint8_t> data, size_t element_size,
                                 size_t raw_bytes, const std::string& what);

// Format: u8 version (1), u8 count, then per alternative: i32 token id, f32 prob, u16 piece
// length, piece bytes (little endian). Empty list -> empty vector (stored as NULL).
std::vector<uint8_t> encode_alternatives(std::span<const TokenAlt> alts);
std::vector<TokenAlt> decode_alternatives(std::span<const uint8_t> data);

}  // namespace ds::store
