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

// 2*pi split so that k * TWO_PI_HI is exact for k < 2^16 (TWO_PI_HI has 8 significant bits).
const float TWO_PI_HI = 6.28125;
const float TWO_PI_LO = 1.9353071795864769e-3;
const float INV_TWO_PI = 0.15915494309189535;

void main() {
  uint half_dim = p.head_dim / 2;
  uint pair = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (pair >= half_dim * p.n_heads * p.n_tokens) return;
  uint i = pair % half_dim;
  uint row = pair / half_dim;  // t * n_heads + h
  uint t = row / p.n_heads;

  // The angle is the float product (as the reference computes it); it is then reduced to [-pi, pi]
  // in float without contraction, because sin/cos are only accurate there on some GPUs.
  precise float angle = float(positions[t]) * inv_freq[i];
  precise float k = round(angle * INV_TWO_PI);
  precise float r = (angle - k * TWO_PI_HI) - k * TWO_PI_LO;
  float c = cos(r), s = sin(r);
#if defined(INVERSE)
  s = -s;
#endif

  uint base = row * p.head_dim;
  uint i0 = p.neox != 0 ? base + i : base + 2 * i;
  uint i1 = p.neox != 0 ? i0 + half_dim : i0 + 1;
  float x0 = x[i0], x1 = x[i1];
  y[i0] = x0 * c - x1 * s;
  y[i1] = x0 * s + x1 * c;
}
