// RoPE: inverse frequencies with Linear / Llama 3.1 scaling, and the dispatch of shaders/rope.comp (the
// forward, and its INVERSE variant for the backward declared in ops/backward/rope.h).
#include "ops/rope.h"

#include <cmath>
#include <numbers>

#include "distilscope/device.h"
#include "ops/backward/rope.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {

std::vector<float> rope_inv_freq(int head_dim, float theta, const RopeScaling& scaling) {
  DS_CHECK(head_dim > 0 && head_dim % 2 == 0, "[rope] head_dim ", head_dim, " must be positive and even");
  DS_CHECK(theta > 0, "[rope] theta ", theta, " must be positive");
  DS_CHECK(scaling.kind == RopeScaling::None || scaling.factor > 0, "[rope] scaling factor ", scaling.factor,
           " must be positive");
  std::vector<float> inv_freq(size_t(head_dim / 2));
  for (int i = 0; i < head_dim / 2; ++i) {
    double freq = std::pow(double(theta), -2.0 * i / head_dim);
    if (scaling.kind == RopeScaling::Linear) freq /= scaling.factor;
    if (scaling.kind == RopeScaling::Llama3) {
      // Llama 3.1: wavelengths shorter than original_context / high_freq_factor keep their frequency, those
      // longer than original_context / low_freq_factor are divided by factor, the band between blends.
      const double old_ctx = scaling.original_context;
      const double wavelen = 2 * std::numbers::pi / freq;
      const double high_freq_wavelen = old_ctx / scaling.high_freq_factor;
      const double low_freq_wavelen = old_ctx / scaling.low_freq_factor;
      if (wavelen > low_freq_wavelen) {
        freq /= scaling.factor;
      } else if (wavelen >= high_freq_wavelen) {
        DS_CHECK(scaling.high_freq_factor != scaling.low_freq_factor, "[rope] llama3 scaling: high_freq_factor ",
                 scaling.high_freq_factor, " equals low_freq_factor");
        double smooth = (old_ctx / wavelen - scaling.low_freq_factor) /
                        (scaling.high_freq_factor - scaling.low_freq_factor);
        freq = (1 - smooth) * freq / scaling.factor + smooth * freq;
      }
    }
    inv_freq[size_t(i)] = float(freq);
  }
  return inv_freq;
}

namespace {

// The forward (shader "rope") and the backward (shader "rope_backward": the inverse rotation) share
// checks and launch; `op` names the op in errors.
void rotate(vk::Recorder& rec, const char* op, const Tensor& x, const Tensor& positions, const Tensor& inv_freq,
            RopeMode mode, const Tensor& out) {
  check_type(op, x, DType::F32);
  check_type(op, out, DType::F32);
  check_type(op, positions, DType::I32);
  check_type(op, inv_freq, DType::F32);
  check_same_shape(op, x, out);
  const int64_t head_dim = x.ne[0], n_heads = x.ne[1], n_tokens = x.ne[2];
  DS_CHECK(x.ne[3] == 1, "[", op, "] ", x.name, " is ", x.shape_str(), ", expected [head_dim, n_heads, n_tokens]");
  DS_CHECK(head_dim % 2 == 0, "[", op, "] ", x.name, ": head_dim ", head_dim, " is odd");
  DS_CHECK(inv_freq.n_elements() == head_dim / 2, "[", op, "] ", inv_freq.name, " has ", inv_freq.n_elements(),
           " frequencies, head_dim ", head_dim, " needs ", head_dim / 2);
  DS_CHECK(positions.n_elements() >= n_tokens, "[", op, "] ", positions.name, " has ", positions.n_elements(),
           " positions for ", n_tokens, " tokens");
  push::RopePush pc{uint32_t(head_dim), uint32_t(n_heads), uint32_t(n_tokens), mode == RopeMode::Neox ? 1u : 0u};
  const uint32_t threads = 256;
  auto& p = rec.device().pipeline(op, 4, sizeof pc, {threads});
  auto [gx, gy] = grid_2d(div_up(head_dim / 2 * n_heads * n_tokens, threads));
  rec.dispatch(p, {x.buf, positions.buf, inv_freq.buf, out.buf}, 0b1000, &pc, gx, gy, 1, op);
}

}  // namespace

void rope(vk::Recorder& rec, const Tensor& x, const Tensor& positions, const Tensor& inv_freq, RopeMode mode,
          const Tensor& out) {
  rotate(rec, "rope", x, positions, inv_freq, mode, out);
}

// Declared in ops/backward/rope.h.
void rope_backward(vk::Recorder& rec, const Tensor& dy, const Tensor& positions, const Tensor& inv_freq, RopeMode mode,
                   const Tensor& dx) {
  rotate(rec, "rope_backward", dy, positions, inv_freq, mode, dx);
}

void rope_store(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& positions,
                const Tensor& inv_freq, RopeMode mode, const Tensor& step, const Tensor& k_cache, const Tensor& v_cache) {
  for (const Tensor* t : {&q, &k, &v, &inv_freq}) check_type("rope_store", *t, DType::F32);
  check_type("rope_store", positions, DType::I32);
  check_type("rope_store", step, DType::I32);
  check_type("rope_store", k_cache, DType::F16);
  check_type("rope_store", v_cache, DType::F16);
  check_same_shape("rope_store", k, v);
  check_same_shape("rope_store", k_cache, v_cache);
  const int64_t head_dim = q.ne[0], n_heads = q.ne[1], n_tokens = q.ne[2], n_kv = k.ne[1], n_ctx = k_cache.ne[1];
  DS_CHECK(k.ne[0] == head_dim && k.ne[2] == n_tokens && k_cache.ne[0] == head_dim && k_cache.ne[2] == n_kv,
           "[rope_store] shapes disagree: q ", q.shape_str(), ", k ", k.shape_str(), ", cache ", k_cache.shape_str());
  DS_CHECK(head_dim % 2 == 0 && inv_freq.n_elements() == head_dim / 2, "[rope_store] head_dim ", head_dim, " with ",
           inv_freq.n_elements(), " frequencies");
  DS_CHECK(positions.n_elements() >= n_tokens, "[rope_store] ", positions.name, " has ", positions.n_elements(),
           " positions for ", n_tokens, " tokens");
  push::RopeStorePush pc{uint32_t(head_dim), uint32_t(n_heads), uint32_t(n_kv), uint32_t(n_tokens), uint32_t(n_ctx),
                         mode == RopeMode::Neox ? 1u : 0u};
  const uint32_t threads = 64;
  auto& p = rec.device().pipeline("rope_store", 8, sizeof pc, {threads});
  auto [gx, gy] = grid_2d(div_up((n_heads + 2 * n_kv) * (head_dim / 2) * n_tokens, threads));
  rec.dispatch(p, {q.buf, k.buf, v.buf, positions.buf, inv_freq.buf, step.buf, k_cache.buf, v_cache.buf}, 0b11000001,
               &pc, gx, gy, 1, "rope_store");
}

}  // namespace ds::ops
