#version 450
// Greedy sampling: argmax of the repetition-penalized logits, ties -> lowest id, in two passes.
// First pass (FINAL=0): workgroup g reduces ids [g * per_group, (g + 1) * per_group) to partials[g].
// Final pass (FINAL=1): one workgroup reduces the n_partials partials and writes the token id.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { SamplePush p; };
struct Best {
  float v;
  uint id;
};
#if FINAL
layout(set = 0, binding = 0) readonly buffer Partials { Best part[]; };
layout(set = 0, binding = 1) writeonly buffer Token { int token; };
#define SAMPLE_NO_LOGITS
#else
layout(set = 0, binding = 0) readonly buffer Logits { float logits[]; };
layout(set = 0, binding = 1) readonly buffer State { SampleStep st; uint penalized[]; };
layout(set = 0, binding = 2) writeonly buffer Partials { Best part[]; };
#endif
#include "sample.glsl"

const uint MAX_SUBGROUPS = 128;
shared float sub_v[MAX_SUBGROUPS];
shared uint sub_id[MAX_SUBGROUPS];

// (v, id) beats (bv, bid) when larger, or equal with a lower id; NO_ID loses to everything.
bool better(float v, uint id, float bv, uint bid) { return bid == NO_ID || v > bv || (v == bv && id < bid); }

void main() {
  uint lid = gl_LocalInvocationID.x;
  float v = NEG_INF;
  uint id = NO_ID;
#if FINAL
  for (uint i = lid; i < p.n_partials; i += gl_WorkGroupSize.x) {
    Best b = part[i];
    if (better(b.v, b.id, v, id)) {
      v = b.v;
      id = b.id;
    }
  }
#else
  uint first = gl_WorkGroupID.x * p.per_group, end = min(p.vocab, first + p.per_group);
  for (uint i = first + lid; i < end; i += gl_WorkGroupSize.x) {
    float l = penalized_logit(i);
    if (id == NO_ID || l > v) {  // ids rise along the loop: strict > keeps the lowest on ties
      v = l;
      id = i;
    }
  }
#endif
  // Invocations without an id hold (-inf, NO_ID): they never win, since min() prefers real ids.
  float m = subgroupMax(v);
  uint c = subgroupMin(v == m ? id : NO_ID);
  if (subgroupElect()) {
    sub_v[gl_SubgroupID] = m;
    sub_id[gl_SubgroupID] = c;
  }
  barrier();
  if (lid != 0) return;
  v = sub_v[0];
  id = sub_id[0];
  for (uint s = 1; s < gl_NumSubgroups; ++s)
    if (sub_id[s] != NO_ID && better(sub_v[s], sub_id[s], v, id)) {
      v = sub_v[s];
      id = sub_id[s];
    }
#if FINAL
  token = int(id);
#else
  part[gl_WorkGroupID.x] = Best(v, id);
#endif
}
