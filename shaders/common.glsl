// Shared GLSL prelude: extensions every kernel uses and the push-constant structs.
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"

// Element of the y binding that receives output row n, column m of a matmul: its routed output
// (MatmulPush's y_end / y_off: row n goes to the part whose row range holds it, at that part's offset,
// column stride = the part's row count). One plain output (y_end0 = N, y_off0 = 0) gives m * N + n.
// matmul_dst(n, m) reads the kernel's push block `p` (MatmulPush or MatvecFusedPush).
uint matmul_routed_index(uint n, uint m, uint N, uint end0, uint end1, uint off0, uint off1, uint off2) {
  if (n < end0) return off0 + m * end0 + n;
  if (n < end1) return off1 + m * (end1 - end0) + (n - end0);
  return off2 + m * (N - end1) + (n - end1);
}
#define matmul_dst(n, m) matmul_routed_index(n, m, p.N, p.y_end0, p.y_end1, p.y_off0, p.y_off1, p.y_off2)
