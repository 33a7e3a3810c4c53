// Type table and reference conversions (f16/bf16 rounding, Q8_0/Q4_0 block (de)quantization).
#include "model/dtype.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

#include "util/error.h"

namespace ds {

std::optional<DTypeInfo> dtype_info(uint32_t t) {
  switch (t) {
    case 0: return DTypeInfo{"F32", 1, 4};
    case 1: return DTypeInfo{"F16", 1, 2};
    case 2: return DTypeInfo{"Q4_0", 32, 18};
    case 8: return DTypeInfo{"Q8_0", 32, 34};
    case 26: return DTypeInfo{"I32", 1, 4};
    case 30: return DTypeInfo{"BF16", 1, 2};
    default: return std::nullopt;
  }
}

const char* ggml_type_name(uint32_t t) {
  static const char* names[] = {"F32",  "F16",  "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0",    "Q5_1",
                                "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",    "Q8_K",
                                "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS",
                                "I8",   "I16",  "I32",  "I64",  "F64",  "IQ1_M", "BF16"};
  if (t < sizeof(names) / sizeof(names[0])) return names[t];
  return "unknown";
}

const char* dtype_name(DType t) { return ggml_type_name(static_cast<uint32_t>(t)); }

std::optional<DType> dtype_from_name(const std::string& name) {
  std::string u = name;
  for (auto& c : u) c = char(std::toupper(static_cast<unsigned char>(c)));
  for (DType t : {DType::F32, DType::F16, DType::Q4_0, DType::Q8_0, DType::BF16, DType::I32})
    if (u == dtype_name(t)) return t;
  return std::nullopt;
}

uint32_t dtype_block_elems(DType t) { return dtype_info(uint32_t(t))->block_elems; }

size_t dtype_bytes(DType t, uint64_t n) {
  auto info = *dtype_info(uint32_t(t));
  return size_t(n / info.block_elems) * info.block_bytes;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: renormalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      u = sign | (uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000) return uint16_t(sign | 0x7c00 | (absx > 0x7f800000 ? 0x200 : 0));  // inf/nan
  if (absx >= 0x477ff000) return uint16_t(sign | 0x7c00);  // rounds past 65504: inf
  if (absx < 0x38800000) {  // subnormal half (or zero)
    // value = absx as float; half subnormal unit is 2^-24
    float a;
    std::memcpy(&a, &absx, 4);
    float scaled = a * 16777216.0f;  // / 2^-24
    uint32_t m = uint32_t(std::nearbyint(scaled));  // round half to even (default rounding mode)
    return uint16_t(sign | m);
  }
  uint32_t exp = ((absx >> 23) - 127 + 15) << 10;
  uint32_t mant = absx & 0x7fffff;
  uint32_t h = exp | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;  // carries into exponent correctly
  return uint16_t(sign | h);
}

uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return uint16_t((u >> 16) | 0x40);  // quiet nan
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

void to_f32(DType t, const void* src, float* dst, uint64_t n) {
  switch (t) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    case DType::F16: {
      auto* s = static_cast<const uint16_t*>(src);
      for (uint64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case DType::BF16: {
      auto* s = static_cast<const uint16_t*>(src);
      for (uint64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::Q8_0: {
      auto* b = static_cast<const BlockQ8_0*>(src);
      for (uint64_t i = 0; i < n / 32; ++i) {
        float d = f16_to_f32(b[i].d);
        for (int j = 0; j < 32; ++j) dst[i * 32 + j] = d * float(b[i].q[j]);
      }
      return;
    }
    case DType::Q4_0: {
      auto* b = static_cast<const BlockQ4_0*>(src);
      for (uint64_t i = 0; i < n / 32; ++i) {
        float d = f16_to_f32(b[i].d);
        for (int j = 0; j < 16; ++j) {
          dst[i * 32 + j] = d * float(int(b[i].qs[j] & 0xf) - 8);
          dst[i * 32 + j + 16] = d * float(int(b[i].qs[j] >> 4) - 8);
        }
      }
      return;
    }
    case DType::I32: {
      auto* s = static_cast<const int32_t*>(src);
      for (uint64_t i = 0; i < n; ++i) dst[i] = float(s[i]);
      return;
    }
  }
  fail("to_f32: unsupported type ", dtype_name(t));
}

void from_f32(DType t, const float* src, void* dst, uint64_t n) {
  switch (t) {
    case DType::F32: std::memcpy(dst, src, n * 4); return;
    case DType::F16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (uint64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::BF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (uint64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::Q8_0: {
      auto* b = static_cast<BlockQ8_0*>(dst);
      for (uint64_t i = 0; i < n / 32; ++i) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(src[i * 32 + j]));
        float d = amax / 127.0f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        b[i].d = f32_to_f16(d);
        for (int j = 0; j < 32; ++j) b[i].q[j] = int8_t(std::lround(src[i * 32 + j] * id));
      }
      return;
    }
    case DType::Q4_0: {
      auto* b = static_cast<BlockQ4_0*>(dst);
      for (uint64_t i = 0; i < n / 32; ++i) {
        const float* x = src + i * 32;
        float amax = 0, maxv = 0;  // the signed value of largest magnitude maps to -8
        for (int j = 0; j < 32; ++j)
          if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            maxv = x[j];
          }
        float d = maxv / -8.0f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        b[i].d = f32_to_f16(d);
        for (int j = 0; j < 16; ++j) {
          int q0 = std::min(15, int(x[j] * id + 8.5f));
          int q1 = std::min(15, int(x[j + 16] * id + 8.5f));
          b[i].qs[j] = uint8_t(q0 | (q1 << 4));
        }
      }
      return;
    }
    case DType::I32: break;
  }
  fail("from_f32: unsupported type ", dtype_name(t));
}

void convert_type(DType from, const void* src, DType to, void* dst, uint64_t n) {
  if (from == to) {
    std::memcpy(dst, src, dtype_bytes(from, n));
    return;
  }
  constexpr uint64_t chunk = 1 << 16;  // a multiple of every block size
  std::vector<float> tmp(std::min<uint64_t>(n, chunk));
  auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  for (uint64_t done = 0; done < n; done += chunk) {
    const uint64_t m = std::min(chunk, n - done);
    to_f32(from, in + dtype_bytes(from, done), tmp.data(), m);
    from_f32(to, tmp.data(), out + dtype_bytes(to, done), m);
  }
}

bool fits_f16(DType t, const void* src, uint64_t n) {
  if (t != DType::BF16 && t != DType::F32) return true;
  for (uint64_t i = 0; i < n; ++i) {
    float x;
    if (t == DType::F32) std::memcpy(&x, static_cast<const uint8_t*>(src) + 4 * i, 4);
    else x = bf16_to_f32(static_cast<const uint16_t*>(src)[i]);
    if (!(std::fabs(x) <= 65504.0f)) return false;
  }
  return true;
}

}  // namespace ds
