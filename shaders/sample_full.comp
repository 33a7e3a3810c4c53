#version 450
// Stochastic sampling in one workgroup (semantics: engine/ops/sample.h).
//  1. m = max over ids of z = penalized logit * (1 / temperature).
//  2. weights e = exp(z - m) in [0, 1]; kept = {e >= t}, t the largest of min_p, the top-k cut and the top-p
//     cut. Both cuts are found exactly, as bit patterns of e, by multisection: every pass counts (top-k) and
//     sums (top-p) the weights at NC candidate thresholds per search and keeps the interval that holds the cut.
//  3. inverse CDF in id order: each invocation sums the kept weights of a contiguous chunk, a workgroup scan
//     finds the chunk holding u * total, and its invocation walks that chunk.
#include "common.glsl"
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { SamplePush p; };
layout(set = 0, binding = 0) readonly buffer Logits { float logits[]; };
layout(set = 0, binding = 1) readonly buffer State { SampleStep st; uint penalized[]; };
layout(set = 0, binding = 2) writeonly buffer Token { int token; };
#include "sample.glsl"

const uint NC = 17;              // candidates per search and pass; the first is the interval's low end
const uint NACC = 2 * NC + 1;    // top-k counts, top-p masses, total mass
const uint MAX_SUBGROUPS = 128;  // the host keeps gl_NumSubgroups within this
shared float sub_acc[MAX_SUBGROUPS * NACC];
shared float acc[NACC];
shared uint lo_s[2], hi_s[2], active_s[2];  // search 0: top-k, search 1: top-p
shared float max_s, total_s;
shared uint chosen_s;

// d = z - m and the weight exp(d), computed the same way in every pass (`precise`: no fused multiply-add),
// so a weight's bits never differ between the passes that compare it with a threshold. inf - inf: e = 1.
float log_weight(uint i, float m) {
  precise float z = penalized_logit(i) * st.inv_temperature;
  precise float d = z - m;
  return d;
}
float weight_of(float d) { return isnan(d) ? 1.0 : exp(d); }

// A bound on d below which a weight is surely under the threshold key (the margin dwarfs exp/log error),
// so passes skip the exp for the bulk of the vocab.
float skip_below(uint key) { return key == 0u ? NEG_INF : log(uintBitsToFloat(key)) - 1e-3; }

// Candidate j of search s: lo + j * step, clipped to hi (candidate 0 is lo itself).
uint step_of(uint s) { return (hi_s[s] - lo_s[s]) / NC + 1; }
uint candidate(uint s, uint j) { return lo_s[s] + min(j * step_of(s), hi_s[s] - lo_s[s]); }
// The highest j with candidate(s, j) <= key, or -1 (what the candidates' spacing gives without a loop).
int highest_candidate(uint key, uint lo, uint hi, uint step) {
  if (key < lo) return -1;
  return key >= hi ? int(NC) - 1 : int(min(NC - 1, (key - lo) / step));
}

void main() {
  uint lid = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;

  // 1. max of z
  float mz = NEG_INF;
  for (uint i = lid; i < p.vocab; i += wg) mz = max(mz, penalized_logit(i) * st.inv_temperature);
  mz = subgroupMax(mz);
  if (subgroupElect()) sub_acc[gl_SubgroupID] = mz;
  uint min_key = floatBitsToUint(st.min_p);  // e >= min_p  <=>  p >= min_p * p_max, since e_max = 1
  if (lid == 0) {
    lo_s[0] = lo_s[1] = min_key;
    hi_s[0] = hi_s[1] = floatBitsToUint(1.0);
    active_s[0] = (st.top_k > 0u && st.top_k < p.vocab) ? 1u : 0u;
    active_s[1] = st.top_p < 1.0 ? 1u : 0u;
  }
  barrier();
  if (lid == 0) {
    float t = sub_acc[0];
    for (uint s = 1; s < gl_NumSubgroups; ++s) t = max(t, sub_acc[s]);
    max_s = t;
  }
  barrier();
  float m = max_s;

  // 2. multisection for the top-k and top-p cuts: F(c) = count / mass of weights with bits >= c falls as c
  //    rises; each search keeps the largest candidate with F >= target (k, or top_p * total mass).
  bool first_pass = true;
  while ((active_s[0] | active_s[1]) != 0u) {
    uint lo_k = lo_s[0], hi_k = hi_s[0], step_k = step_of(0);
    uint lo_p = lo_s[1], hi_p = hi_s[1], step_p = step_of(1);
    float a[NACC];
    [[unroll]] for (uint j = 0; j < NACC; ++j) a[j] = 0.0;
    // elements under the searches' common low end add to no candidate (the first pass needs all of them for
    // the total mass)
    float dcut = first_pass ? NEG_INF : skip_below(max(lo_s[0], lo_s[1]));
    for (uint i = lid; i < p.vocab; i += wg) {
      float d = log_weight(i, m);
      if (d < dcut) continue;
      float e = weight_of(d);
      uint key = floatBitsToUint(e);
      int jk = highest_candidate(key, lo_k, hi_k, step_k), jp = highest_candidate(key, lo_p, hi_p, step_p);
      [[unroll]] for (int j = 0; j < int(NC); ++j) {
        a[j] += j <= jk ? 1.0 : 0.0;  // counts stay exact in f32 below 2^24 ids
        a[NC + j] += j <= jp ? e : 0.0;
      }
      a[2 * NC] += e;
    }
    [[unroll]] for (uint j = 0; j < NACC; ++j) {
      float s = subgroupAdd(a[j]);
      if (subgroupElect()) sub_acc[gl_SubgroupID * NACC + j] = s;
    }
    barrier();
    if (lid < NACC) {
      float t = 0.0;
      for (uint s = 0; s < gl_NumSubgroups; ++s) t += sub_acc[s * NACC + lid];
      acc[lid] = t;
    }
    barrier();
    if (lid == 0) {
      if (first_pass) total_s = acc[2 * NC];
      for (uint s = 0; s < 2; ++s) {
        if (active_s[s] == 0u) continue;
        float target = s == 0 ? float(st.top_k) : st.top_p * total_s;
        int best = -1;  // F falls with j: the candidates with F >= target are a prefix
        for (uint j = 0; j < NC; ++j)
          if (acc[s * NC + j] >= target) best = int(j);
        if (best < 0) {  // even F(lo) < target: the cut lies below lo, and lo wins the max anyway
          hi_s[s] = lo_s[s];
        } else {
          uint new_hi = uint(best) + 1 < NC ? candidate(s, uint(best) + 1) - 1 : hi_s[s];
          lo_s[s] = candidate(s, uint(best));
          hi_s[s] = new_hi;
        }
        if (lo_s[s] == hi_s[s]) active_s[s] = 0u;
      }
      // Only max(cut_k, cut_p) matters: each search may start at the other's low end, and one whose interval
      // lies wholly below it is done (its cut cannot win).
      uint floor_key = max(lo_s[0], lo_s[1]);
      for (uint s = 0; s < 2; ++s) {
        if (active_s[s] == 0u) continue;
        lo_s[s] = floor_key;
        if (floor_key >= hi_s[s]) {
          hi_s[s] = floor_key;
          active_s[s] = 0u;
        }
      }
    }
    first_pass = false;
    barrier();
  }
  uint t = max(lo_s[0], lo_s[1]);

  // 3. inverse CDF over the kept ids in id order
  uint begin = lid * p.chunk, end = min(p.vocab, begin + p.chunk);
  float dcut = skip_below(t);
  float sum = 0.0;
  for (uint i = begin; i < end; ++i) {
    float d = log_weight(i, m);
    if (d < dcut) continue;
    float e = weight_of(d);
    if (floatBitsToUint(e) >= t) sum += e;
  }
  float before_in_subgroup = subgroupExclusiveAdd(sum);
  float subgroup_total = subgroupAdd(sum);
  if (subgroupElect()) sub_acc[gl_SubgroupID] = subgroup_total;
  if (lid == 0) chosen_s = 0;
  barrier();
  float excl = 0.0, total = 0.0;
  for (uint s = 0; s < gl_NumSubgroups; ++s) {
    if (s == gl_SubgroupID) excl = total;
    total += sub_acc[s];
  }
  excl += before_in_subgroup;
  float target = st.u * total;
  // The chunk holding the target is the last chunk with mass that starts at or before it.
  if (sum > 0.0 && excl <= target) atomicMax(chosen_s, lid);
  barrier();
  if (lid != chosen_s) return;
  float cum = excl;
  uint pick = NO_ID, last = NO_ID;
  for (uint i = begin; i < end && pick == NO_ID; ++i) {
    float d = log_weight(i, m);
    if (d < dcut) continue;
    float e = weight_of(d);
    if (floatBitsToUint(e) < t || e <= 0.0) continue;
    cum += e;
    last = i;
    if (cum > target) pick = i;
  }
  token = int(pick != NO_ID ? pick : last);  // `last`: rounding left the target past the final mass
}
