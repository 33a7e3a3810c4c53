#version 450
// Rotary position embedding, one invocation per rotated pair: (x0, x1) -> (x0 c - x1 s, x0 s + x1 c) with
// angle = float(positions[t]) * inv_freq[i]. Pairs are (2i, 2i+1) (interleaved) or (i, i + head_dim/2) (neox).
// INVERSE (the backward: dx = R^T dy) turns each pair by -angle instead.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { RopePush p; };
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Pos { int positions[]; };
layout(set = 0, binding = 2) readonly buffer Freq { float inv_freq[]; };
layout(set = 0, binding = 3) writeonly buffer Y { float y[]; };  // may be the same memory as X

#include "rope.glsl"

void main() {
  uint half_dim = p.head_dim / 2;
  uint pair = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (pair >= half_dim * p.n_heads * p.n_tokens) return;
  uint i = pair % half_dim;
  uint row = pair / half_dim;  // t * n_heads + h
  uint t = row / p.n_heads;

  vec2 cs = rope_cos_sin(positions[t], inv_freq[i]);
#if defined(INVERSE)
  cs.y = -cs.y;
#endif
  uvec2 e = row * p.head_dim + rope_pair(i, p.head_dim, p.neox != 0);
  vec2 r = rope_rotate(vec2(x[e.x], x[e.y]), cs);
  y[e.x] = r.x;
  y[e.y] = r.y;
}
