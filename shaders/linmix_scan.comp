#version 450
// Linear mixer, linear part: chunked causal linear attention over the keys that enter the state this batch.
// Key u (u < n_tokens) is the one at position n_past - N + u, so query t (position n_past + t) sees, besides the
// incoming state, exactly the keys u <= t: the window shift becomes plain causal masking. Workgroup (column slice
// of DS values of head_dim, state head s) keeps its slice of S = sum phi_k v^T ([2F, DS]) and z = sum phi_k ([2F])
// in shared memory and walks chunks of C tokens:
//   for each query head h of s:  A = (Phi_q Phi_k^T masked u <= t)       (C x C)
//                                num[t] = phi_q[t] . S + sum_u A[t, u] v[u]    (slice columns)
//                                den[t] = phi_q[t] . z + sum_u A[t, u]         (slice 0 writes it)
//   then S += Phi_k^T V, z += sum_u phi_k[u]   (the chunk's keys enter the state)
// and writes S, z back at the end. Decode (n_tokens = 1, C = 1) is the same walk of one token.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HD = 64;  // head_dim
layout(constant_id = 2) const uint FF = 64;  // 2F: features of phi
layout(constant_id = 3) const uint DS = 32;  // head_dim columns per workgroup
layout(constant_id = 4) const uint C = 16;   // tokens per chunk
layout(push_constant) uniform Push { LinearMixerPush p; };
layout(set = 0, binding = 0) readonly buffer PhiQ { float phi_q[]; };     // [2F, n_heads, n_tokens]
layout(set = 0, binding = 1) readonly buffer PhiK { float phi_k[]; };     // [2F, n_state, n_tokens]
layout(set = 0, binding = 2) readonly buffer V { float v[]; };            // [head_dim, n_kv, n_tokens]
layout(set = 0, binding = 3) readonly buffer RingV { float ring_v[]; };   // [head_dim, N, n_kv]
layout(set = 0, binding = 4) readonly buffer Step { int step[]; };        // {n_past, ...}
layout(set = 0, binding = 5) buffer S { float s_state[]; };               // [head_dim, 2F, n_state]
layout(set = 0, binding = 6) buffer Z { float z_state[]; };               // [2F, n_state]
layout(set = 0, binding = 7) writeonly buffer Num { float num_out[]; };   // [head_dim, n_heads, n_tokens]
layout(set = 0, binding = 8) writeonly buffer Den { float den_out[]; };   // [n_heads, n_tokens]

const uint PK = FF + 1;  // padded row stride of phi_k in shared memory (score loop reads rows u, u+1, ...)

shared float s_sh[FF * DS];
shared float z_sh[FF];
shared float pk_sh[C * PK];
shared float v_sh[C * DS];
shared float a_sh[C * C];

void main() {
  const uint tid = gl_LocalInvocationID.x, T = gl_WorkGroupSize.x;
  const uint slice = gl_WorkGroupID.x, s = gl_WorkGroupID.y;
  const uint d0 = slice * DS;
  const uint hk = s / (p.n_state / p.n_kv);
  const uint qg = p.n_heads / p.n_state;  // query heads per state head: h = s * qg + j
  const int n_past = step[0];
  const int first_pos = n_past - int(p.window);  // position of key u = 0

  for (uint i = tid; i < FF * DS; i += T) {
    const uint f = i / DS, c = i % DS;
    s_sh[i] = d0 + c < HD ? s_state[(s * FF + f) * HD + d0 + c] : 0.0;
  }
  for (uint f = tid; f < FF; f += T) z_sh[f] = z_state[s * FF + f];

  for (uint c0 = 0; c0 < p.n_tokens; c0 += C) {
    const uint n = min(C, p.n_tokens - c0);
    barrier();  // the previous chunk's readers of pk_sh / v_sh and writers of s_sh are done
    for (uint i = tid; i < C * FF; i += T) {
      const uint u = i / FF, f = i % FF;
      pk_sh[u * PK + f] = u < n ? phi_k[((c0 + u) * p.n_state + s) * FF + f] : 0.0;
    }
    for (uint i = tid; i < C * DS; i += T) {
      const uint u = i / DS, c = i % DS;
      const int pos = first_pos + int(c0 + u);
      float val = 0.0;
      if (u < n && d0 + c < HD && pos >= 0) {
        if (pos < n_past)
          val = ring_v[(hk * p.window + uint(pos) % p.window) * HD + d0 + c];
        else
          val = v[(uint(pos - n_past) * p.n_kv + hk) * HD + d0 + c];
      }
      v_sh[i] = val;
    }
    barrier();
    for (uint j = 0; j < qg; ++j) {
      const uint h = s * qg + j;
      // A[t, u] = phi_q[t] . phi_k[u] for u <= t
      for (uint i = tid; i < C * C; i += T) {
        const uint t = i / C, u = i % C;
        float a = 0.0;
        if (t < n && u <= t) {
          const uint q0 = ((c0 + t) * p.n_heads + h) * FF;
          for (uint f = 0; f < FF; ++f) a += phi_q[q0 + f] * pk_sh[u * PK + f];
        }
        a_sh[i] = a;
      }
      barrier();
      for (uint i = tid; i < C * DS; i += T) {
        const uint t = i / DS, c = i % DS;
        if (t < n && d0 + c < HD) {
          const uint q0 = ((c0 + t) * p.n_heads + h) * FF;
          float acc = 0.0;
          for (uint f = 0; f < FF; ++f) acc += phi_q[q0 + f] * s_sh[f * DS + c];
          for (uint u = 0; u <= t; ++u) acc += a_sh[t * C + u] * v_sh[u * DS + c];
          num_out[((c0 + t) * p.n_heads + h) * HD + d0 + c] = acc;
        }
      }
      if (slice == 0) {
        for (uint t = tid; t < n; t += T) {
          const uint q0 = ((c0 + t) * p.n_heads + h) * FF;
          float den = 0.0;
          for (uint f = 0; f < FF; ++f) den += phi_q[q0 + f] * z_sh[f];
          for (uint u = 0; u <= t; ++u) den += a_sh[t * C + u];
          den_out[(c0 + t) * p.n_heads + h] = den;
        }
      }
      barrier();  // a_sh is rewritten for the next head; s_sh is updated next
    }
    // The chunk's keys enter the state.
    for (uint i = tid; i < FF * DS; i += T) {
      const uint f = i / DS, c = i % DS;
      float acc = 0.0;
      for (uint u = 0; u < n; ++u) acc += pk_sh[u * PK + f] * v_sh[u * DS + c];
      s_sh[i] += acc;
    }
    for (uint f = tid; f < FF; f += T) {
      float acc = 0.0;
      for (uint u = 0; u < n; ++u) acc += pk_sh[u * PK + f];
      z_sh[f] += acc;
    }
  }
  barrier();
  for (uint i = tid; i < FF * DS; i += T) {
    const uint f = i / DS, c = i % DS;
    if (d0 + c < HD) s_state[(s * FF + f) * HD + d0 + c] = s_sh[i];
  }
  if (slice == 0)
    for (uint f = tid; f < FF; f += T) z_state[s * FF + f] = z_sh[f];
}
