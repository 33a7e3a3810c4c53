// Weight reading for every weight type, dequantized in registers (never expanded in memory).
// The including kernel defines W_BINDING and exactly one of W_F32, W_F16, W_BF16, W_Q8_0, W_Q4_0.
// Weights are addressed by element index e = row * K + k (GGUF order: a row is K contiguous weights).
//
// Bindings: plain types alias the weight binding twice, as scalars and as 16-byte vectors
// (vec4 / uvec4 of 8 halves); dequant8 uses the vectors and needs e % 8 == 0, K % 8 == 0 and a
// 16-byte aligned binding offset (the host checks both and otherwise picks the scalar path, which
// calls dequant1 only). Quantized blocks (Q8_0 34 bytes, Q4_0 18 bytes) are only 2-byte aligned, so they are
// read as uint16 words (16-bit storage) and unpacked with bit operations: Q8_0 block b is words
// [17b, 17b+17): d, then q[2i] | q[2i+1] << 8; Q4_0 block b is words [9b, 9b+9): d, then qs pairs.

#if defined(W_F32)
layout(set = 0, binding = W_BINDING) readonly buffer WeightScalar { float w_scalar[]; };
layout(set = 0, binding = W_BINDING) readonly buffer WeightVec { vec4 w_vec[]; };
#elif defined(W_F16) || defined(W_BF16)
layout(set = 0, binding = W_BINDING) readonly buffer WeightScalar { uint16_t w_scalar[]; };
layout(set = 0, binding = W_BINDING) readonly buffer WeightVec { uvec4 w_vec[]; };
#elif defined(W_Q8_0) || defined(W_Q4_0)
layout(set = 0, binding = W_BINDING) readonly buffer WeightWords { uint16_t w_u16[]; };
#else
#error "define one of W_F32, W_F16, W_BF16, W_Q8_0, W_Q4_0"
#endif

#if defined(W_BF16)
float bf16_bits_to_float(uint lo16) { return uintBitsToFloat(lo16 << 16); }
vec2 bf16x2_to_vec2(uint u) { return vec2(uintBitsToFloat(u << 16), uintBitsToFloat(u & 0xffff0000u)); }
#endif

#if defined(W_Q8_0) || defined(W_Q4_0)
float half_bits_to_float(uint h) { return unpackHalf2x16(h).x; }
// Four bytes of a little-endian word as signed integers, as floats.
vec4 s8x4(uint u) {
  int i = int(u);
  return vec4(bitfieldExtract(i, 0, 8), bitfieldExtract(i, 8, 8), bitfieldExtract(i, 16, 8), bitfieldExtract(i, 24, 8));
}
// The low (shift 0) or high (shift 4) nibbles of four bytes, minus 8, as floats.
vec4 nib4(uint u, uint shift) {
  uvec4 n = (uvec4(u, u >> 8, u >> 16, u >> 24) >> shift) & 0xfu;
  return vec4(n) - 8.0;
}
#endif

#if defined(W_Q8_0)
const uint BLOCK_WORDS = 17;
#elif defined(W_Q4_0)
const uint BLOCK_WORDS = 9;
#endif

// Weights e .. e+7, e a multiple of 8 (for plain types K must be a multiple of 8 too).
void dequant8(uint e, out vec4 lo, out vec4 hi) {
#if defined(W_F32)
  lo = w_vec[e / 4];
  hi = w_vec[e / 4 + 1];
#elif defined(W_F16)
  uvec4 u = w_vec[e / 8];
  lo = vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
  hi = vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w));
#elif defined(W_BF16)
  uvec4 u = w_vec[e / 8];
  lo = vec4(bf16x2_to_vec2(u.x), bf16x2_to_vec2(u.y));
  hi = vec4(bf16x2_to_vec2(u.z), bf16x2_to_vec2(u.w));
#elif defined(W_Q8_0)
  uint base = (e / 32) * BLOCK_WORDS;
  uint q = base + 1 + ((e % 32) / 8) * 4;  // 8 int8 = 4 words
  float d = half_bits_to_float(uint(w_u16[base]));
  lo = d * s8x4(uint(w_u16[q]) | (uint(w_u16[q + 1]) << 16));
  hi = d * s8x4(uint(w_u16[q + 2]) | (uint(w_u16[q + 3]) << 16));
#elif defined(W_Q4_0)
  uint base = (e / 32) * BLOCK_WORDS;
  uint j = (e % 32) / 8;                  // weights 8j..8j+7 of the block
  uint q = base + 1 + (j & 1u) * 4;       // bytes qs[8(j&1)] .. +7
  uint shift = (j >> 1) * 4;              // j < 2: low nibbles, else high nibbles
  float d = half_bits_to_float(uint(w_u16[base]));
  lo = d * nib4(uint(w_u16[q]) | (uint(w_u16[q + 1]) << 16), shift);
  hi = d * nib4(uint(w_u16[q + 2]) | (uint(w_u16[q + 3]) << 16), shift);
#endif
}

// Weight e alone (the unaligned path of plain types; valid for every type).
float dequant1(uint e) {
#if defined(W_F32)
  return w_scalar[e];
#elif defined(W_F16)
  return unpackHalf2x16(uint(w_scalar[e])).x;
#elif defined(W_BF16)
  return bf16_bits_to_float(uint(w_scalar[e]));
#elif defined(W_Q8_0)
  uint base = (e / 32) * BLOCK_WORDS;
  uint i = e % 32;
  uint word = uint(w_u16[base + 1 + i / 2]);
  return half_bits_to_float(uint(w_u16[base])) * float(bitfieldExtract(int(word), int(i % 2) * 8, 8));
#elif defined(W_Q4_0)
  uint base = (e / 32) * BLOCK_WORDS;
  uint i = e % 32;
  uint byte_index = i % 16;
  uint word = uint(w_u16[base + 1 + byte_index / 2]);
  uint nibble = (word >> ((byte_index % 2) * 8 + (i / 16) * 4)) & 0xfu;
  return half_bits_to_float(uint(w_u16[base])) * (float(nibble) - 8.0);
#endif
}
