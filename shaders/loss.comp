#version 450
// Losses over token rows (one workgroup per row of n values; rows = tokens), numerically stable through
// log-sum-exp. per_token[row] = the row's loss; grad (=|+=) weight * d(mean over tokens)/d(row).
//   LOSS_CE:  logits z, targets y: loss = lse(z) - z[y]; grad = (softmax(z) - onehot(y)) / count, where
//             count = stats[1] (tokens with a target in [0, n), counted by loss_reduce.comp COUNT); rows with
//             another target contribute nothing.
//   LOSS_KL:  student logits s, teacher logits z, temperature T: q = softmax(s / T), p = softmax(z / T);
//             forward KL(p || q) or reverse KL(q || p) (flags LOSS_REVERSE_KL), times T^2 (so gradient
//             sizes do not shrink with T); grad wrt s: T (q - p) / rows, or T q (log q - log p - KL) / rows.
//   LOSS_MSE: a (student hidden), b (teacher): loss = mean((a - b)^2) over the row; grad = 2 (a - b) / (n rows).
// grad may be the memory of binding 0 when not accumulating (every row is read before it is written).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { LossPush p; };
layout(set = 0, binding = 0) readonly buffer A { float a[]; };  // [n, rows]: logits / student
#if defined(LOSS_CE)
layout(set = 0, binding = 1) readonly buffer Targets { int targets[]; };  // [rows]
#else
layout(set = 0, binding = 1) readonly buffer B { float b[]; };  // [n, rows]: teacher
#endif
layout(set = 0, binding = 2) buffer Grad { float grad[]; };             // [n, rows]
layout(set = 0, binding = 3) writeonly buffer PerToken { float per_token[]; };  // [rows]
layout(set = 0, binding = 4) readonly buffer Stats { float stats[]; };   // {mean, count}

#include "reduce.glsl"

void put(uint i, float g) {
  g *= p.weight;
  if ((p.flags & GRAD_ACCUMULATE) != 0) g += grad[i];
  grad[i] = g;
}

void main() {
  const uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (row >= p.rows) return;
  const uint base = row * p.n, tid = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
#if defined(LOSS_CE)
  const int y = targets[row];
  if (y < 0 || uint(y) >= p.n) {  // ignored token (uniform branch)
    for (uint i = tid; i < p.n; i += wg) put(base + i, 0.0);
    if (tid == 0) per_token[row] = 0.0;
    return;
  }
  const float zy = a[base + uint(y)];
  float mx = -3.0e38;
  for (uint i = tid; i < p.n; i += wg) mx = max(mx, a[base + i]);
  mx = workgroup_max(mx);
  float sum = 0.0;
  for (uint i = tid; i < p.n; i += wg) sum += exp(a[base + i] - mx);
  const float lse = mx + log(workgroup_sum(sum));
  const float count = stats[1];
  const float inv_count = count > 0.0 ? 1.0 / count : 0.0;
  memoryBarrierBuffer();
  barrier();  // every read of the row is done before grad (which may be the logits) is written
  for (uint i = tid; i < p.n; i += wg) put(base + i, (exp(a[base + i] - lse) - (i == uint(y) ? 1.0 : 0.0)) * inv_count);
  if (tid == 0) per_token[row] = lse - zy;
#elif defined(LOSS_KL)
  const float inv_t = 1.0 / p.temperature;
  float mx_s = -3.0e38, mx_t = -3.0e38;
  for (uint i = tid; i < p.n; i += wg) {
    mx_s = max(mx_s, a[base + i] * inv_t);
    mx_t = max(mx_t, b[base + i] * inv_t);
  }
  mx_s = workgroup_max(mx_s);
  mx_t = workgroup_max(mx_t);
  float sum_s = 0.0, sum_t = 0.0;
  for (uint i = tid; i < p.n; i += wg) {
    sum_s += exp(a[base + i] * inv_t - mx_s);
    sum_t += exp(b[base + i] * inv_t - mx_t);
  }
  const float lse_s = mx_s + log(workgroup_sum(sum_s)), lse_t = mx_t + log(workgroup_sum(sum_t));
  const bool reverse = (p.flags & LOSS_REVERSE_KL) != 0;
  float kl = 0.0;
  for (uint i = tid; i < p.n; i += wg) {
    const float log_q = a[base + i] * inv_t - lse_s, log_p = b[base + i] * inv_t - lse_t;
    kl += reverse ? exp(log_q) * (log_q - log_p) : exp(log_p) * (log_p - log_q);
  }
  kl = workgroup_sum(kl);
  memoryBarrierBuffer();
  barrier();  // every read of the row is done before grad (which may be the student logits) is written
  const float scale = p.temperature / float(p.rows);
  for (uint i = tid; i < p.n; i += wg) {
    const float log_q = a[base + i] * inv_t - lse_s, log_p = b[base + i] * inv_t - lse_t;
    const float q = exp(log_q);
    put(base + i, scale * (reverse ? q * (log_q - log_p - kl) : q - exp(log_p)));
  }
  if (tid == 0) per_token[row] = p.temperature * p.temperature * kl;
#elif defined(LOSS_MSE)
  float ss = 0.0;
  for (uint i = tid; i < p.n; i += wg) {
    const float d = a[base + i] - b[base + i];
    ss += d * d;
  }
  ss = workgroup_sum(ss);
  const float scale = 2.0 / (float(p.n) * float(p.rows));
  for (uint i = tid; i < p.n; i += wg) put(base + i, scale * (a[base + i] - b[base + i]));
  if (tid == 0) per_token[row] = ss / float(p.n);
#else
#error "define LOSS_CE, LOSS_KL or LOSS_MSE"
#endif
}
