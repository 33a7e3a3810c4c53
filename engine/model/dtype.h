// Tensor element types as GGUF numbers them, their block layout, and scalar conversions.
// Quantized types are stored in blocks of 32 weights:
//   Q8_0: { f16 d; int8 q[32]; }          x = d * q                      (34 bytes)
//   Q4_0: { f16 d; uint8 qs[16]; }        x = d * (nibble - 8), weight j<16 from the low nibble of
//                                          qs[j], weight j>=16 from the high nibble of qs[j-16]  (18 bytes)
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace ds {

enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q8_0 = 8,
  I32 = 26,
  BF16 = 30,
};

struct DTypeInfo {
  const char* name;
  uint32_t block_elems;  // elements per block (1 for plain types)
  uint32_t block_bytes;  // bytes per block
};

// Info for a supported type, or nullopt for a GGUF type number this engine does not handle.
std::optional<DTypeInfo> dtype_info(uint32_t ggml_type);
const char* dtype_name(DType t);
const char* ggml_type_name(uint32_t ggml_type);  // names unsupported GGUF types too ("Q4_K", ...)
std::optional<DType> dtype_from_name(const std::string& name);  // "f16", "Q8_0", ... (any case)

// Bytes of n elements of type t; n must be a multiple of the block size (checked by callers).
size_t dtype_bytes(DType t, uint64_t n);
uint32_t dtype_block_elems(DType t);

constexpr int k_qblock = 32;
struct BlockQ8_0 {
  uint16_t d;
  int8_t q[32];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);  // round to nearest even
inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t f32_to_bf16(float f);  // round to nearest even

// Converts n elements of type t at src to f32 (dequantizing blocks).
void to_f32(DType t, const void* src, float* dst, uint64_t n);
// Converts n f32 values to type t (quantizing: Q8_0 and Q4_0 as the reference engine does).
void from_f32(DType t, const float* src, void* dst, uint64_t n);
// n elements of type `from` to type `to` through f32 in bounded chunks (no whole-tensor f32 copy);
// n must be a multiple of both block sizes. Same types: a copy.
void convert_type(DType from, const void* src, DType to, void* dst, uint64_t n);
// Whether every value of n BF16/F32 elements fits F16's finite range (F16 and quantized types: true).
bool fits_f16(DType t, const void* src, uint64_t n);

}  // namespace ds
