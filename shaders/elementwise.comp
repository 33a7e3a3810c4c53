#version 450
// Element-wise binary ops on F32, one invocation per element; the variant is picked by a define:
// OP_SWIGLU: out = silu(a) * b (a = gate, b = up);  OP_ADD: out = a + b (out may be the memory of a).
// -DOUT_F16: out in F16 (SwiGLU's output as the F16 input of prefill's tensor-core down projection).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { ElementwisePush p; };
layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
#if defined(OUT_F16)
layout(set = 0, binding = 2) writeonly buffer Out { float16_t o[]; };
#define OUT(v) float16_t(v)
#else
layout(set = 0, binding = 2) writeonly buffer Out { float o[]; };
#define OUT(v) (v)
#endif

void main() {
  uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= p.n) return;
#if defined(OP_SWIGLU)
  float g = a[i];
  o[i] = OUT(g / (1.0 + exp(-g)) * b[i]);
#elif defined(OP_ADD)
  o[i] = OUT(a[i] + b[i]);
#else
#error "define OP_SWIGLU or OP_ADD"
#endif
}
