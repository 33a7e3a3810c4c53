#version 450
// F32 master weights -> their half-precision inference copy, one invocation per element, round to nearest
// even: TO_F16 through packHalf2x16, TO_BF16 by rounding the float's bits (NaN stays a quiet NaN).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { CastPush p; };
layout(set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(set = 0, binding = 1) writeonly buffer Dst { uint16_t dst[]; };

void main() {
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
  const float x = src[i];
#if defined(TO_F16)
  dst[i] = uint16_t(packHalf2x16(vec2(x, 0.0)) & 0xffffu);
#elif defined(TO_BF16)
  uint u = floatBitsToUint(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    u = (u >> 16) | 0x40u;
  } else {
    u = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  }
  dst[i] = uint16_t(u);
#else
#error "define TO_F16 or TO_BF16"
#endif
}
