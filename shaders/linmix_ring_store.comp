#version 450
// Linear mixer: the batch's last min(n_tokens, N) keys and values go into the window ring, token t (position
// n_past + t) in slot (n_past + t) % N. Runs after every reader of the ring in the batch.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { LinearMixerPush p; };
layout(set = 0, binding = 0) readonly buffer K { float k[]; };          // [head_dim, n_kv, n_tokens]
layout(set = 0, binding = 1) readonly buffer V { float v[]; };          // [head_dim, n_kv, n_tokens]
layout(set = 0, binding = 2) readonly buffer Step { int step[]; };      // {n_past, ...}
layout(set = 0, binding = 3) writeonly buffer RingK { float ring_k[]; };  // [head_dim, N, n_kv]
layout(set = 0, binding = 4) writeonly buffer RingV { float ring_v[]; };  // [head_dim, N, n_kv]

void main() {
  const uint n_keep = min(p.n_tokens, p.window);
  const uint idx = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * gl_WorkGroupSize.x +
                   gl_LocalInvocationID.x;
  if (idx >= p.head_dim * p.n_kv * n_keep) return;
  const uint c = idx % p.head_dim, hk = (idx / p.head_dim) % p.n_kv;
  const uint t = p.n_tokens - n_keep + idx / (p.head_dim * p.n_kv);
  const uint slot = (uint(step[0]) + t) % p.window;
  const uint src = (t * p.n_kv + hk) * p.head_dim + c;
  const uint dst = (hk * p.window + slot) * p.head_dim + c;
  ring_k[dst] = k[src];
  ring_v[dst] = v[src];
}
