// The tiny model of support/tiny_model.h composed from the GPU ops -- forward ops plus attention_train,
// cross-entropy, then the backward ops walked in reverse with one residual-gradient buffer that the ops
// reading the residual add into (GradMode), the q/k/v input gradients summed the same way, and the tied
// embedding's two gradients summed in one tensor -- against the CPU composition's loss and gradients.
// This is the pattern the trainer follows; it proves the GPU pieces fit together.
#include <cmath>

#include "ops/backward/attention.h"
#include "ops/backward/embed.h"
#include "ops/backward/matmul.h"
#include "ops/backward/norm.h"
#include "ops/backward/rope.h"
#include "ops/backward/swiglu.h"
#include "ops/elementwise.h"
#include "ops/embed.h"
#include "ops/loss.h"
#include "ops/matmul.h"
#include "ops/norm.h"
#include "ref/compare.h"
#include "support/gpu.h"
#include "support/tiny_model.h"

namespace ds {
namespace {

using test::BlockConfig;

class GpuBlockTest : public testing::TestWithParam<BlockConfig> {};

TEST_P(GpuBlockTest, GradientsMatchTheCpuComposition) {
  const BlockConfig c = GetParam();
  test::TinyModel m(c);
  m.round_params_to_float();
  const double cpu_loss = m.forward();
  const auto cpu_grads = m.backward();

  const int64_t T = c.tokens, d = c.d, hd = c.head_dim;
  auto f32 = [](std::array<int64_t, 4> ne, const std::string& name) {
    return test::empty_tensor(DType::F32, ne, name);
  };
  std::map<std::string, Tensor> w, g;  // parameters and their gradients
  for (auto& [name, v] : m.p) {
    std::array<int64_t, 4> ne{int64_t(v.size()), 1, 1, 1};
    if (name == "tok_embd" || name == "output") ne = {d, c.vocab, 1, 1};
    if (name == "wq" || name == "wk" || name == "wv" || name == "w_gate" || name == "w_up")
      ne = {d, int64_t(v.size()) / d, 1, 1};
    if (name == "wo") ne = {c.q_dim(), d, 1, 1};
    if (name == "w_down") ne = {c.ffn, d, 1, 1};
    w[name] = test::tensor_from(std::vector<float>(v.begin(), v.end()), DType::F32, ne, name);
    g[name] = f32(ne, "grad." + name);
  }
  const Tensor& out_w = w[c.tied ? "tok_embd" : "output"];
  const Tensor& out_g = g[c.tied ? "tok_embd" : "output"];
  auto i32 = [](const std::vector<int32_t>& v, const std::string& name) {
    Tensor t = test::empty_tensor(DType::I32, {int64_t(v.size()), 1, 1, 1}, name);
    upload(test::device(), t, v.data());
    return t;
  };
  Tensor ids = i32(m.ids, "ids"), targets = i32(m.targets, "targets"), pos = i32(m.positions, "positions");
  Tensor inv_freq = test::tensor_from(m.inv_freq, DType::F32, {hd / 2, 1, 1, 1}, "inv_freq");
  const auto mode = c.neox ? ops::RopeMode::Neox : ops::RopeMode::Interleaved;
  const float eps = 1e-5f, scale = 1.0f / std::sqrt(float(hd));

  // Activations kept for the backward, and gradient buffers.
  Tensor x0 = f32({d, T, 1, 1}, "x0"), xn1 = f32({d, T, 1, 1}, "xn1"), x1 = f32({d, T, 1, 1}, "x1");
  Tensor xn2 = f32({d, T, 1, 1}, "xn2"), x2 = f32({d, T, 1, 1}, "x2"), xf = f32({d, T, 1, 1}, "xf");
  Tensor q = f32({hd, c.n_heads, T, 1}, "q"), k = f32({hd, c.n_kv, T, 1}, "k"), v = f32({hd, c.n_kv, T, 1}, "v");
  Tensor att = f32({hd, c.n_heads, T, 1}, "att"), lse = f32({c.n_heads, T, 1, 1}, "lse");
  Tensor gate = f32({c.ffn, T, 1, 1}, "gate"), up = f32({c.ffn, T, 1, 1}, "up"), h = f32({c.ffn, T, 1, 1}, "h");
  Tensor logits = f32({c.vocab, T, 1, 1}, "logits"), dlogits = f32({c.vocab, T, 1, 1}, "dlogits");
  Tensor per_token = f32({T, 1, 1, 1}, "per_token"), value = f32({2, 1, 1, 1}, "loss");
  Tensor dres = f32({d, T, 1, 1}, "d_residual"), dxn = f32({d, T, 1, 1}, "d_xn"), rstd = f32({T, 1, 1, 1}, "rstd");
  Tensor dh = f32({c.ffn, T, 1, 1}, "dh"), dgate = f32({c.ffn, T, 1, 1}, "dgate"), dup = f32({c.ffn, T, 1, 1}, "dup");
  Tensor datt = f32({hd, c.n_heads, T, 1}, "datt"), dq = f32({hd, c.n_heads, T, 1}, "dq");
  Tensor dk = f32({hd, c.n_kv, T, 1}, "dk"), dv = f32({hd, c.n_kv, T, 1}, "dv");
  auto flat = [](const Tensor& t) { return t.reshaped({t.ne[0] * t.ne[1], t.ne[2], 1, 1}); };  // [heads*hd, T]

  test::run([&](vk::Recorder& r) {
    // Forward.
    ops::get_rows(r, w["tok_embd"], ids, x0);
    ops::rms_norm(r, x0, w["attn_norm"], xn1, eps);
    ops::matmul(r, w["wq"], xn1, flat(q), {w["bq"]});
    ops::matmul(r, w["wk"], xn1, flat(k), {w["bk"]});
    ops::matmul(r, w["wv"], xn1, flat(v), {w["bv"]});
    ops::rope(r, q, pos, inv_freq, mode, q);
    ops::rope(r, k, pos, inv_freq, mode, k);
    ops::attention_train(r, q, k, v, scale, att, lse);
    r.copy(x0.buf, x1.buf);
    ops::MatmulOptions acc;
    acc.accumulate = true;
    ops::matmul(r, w["wo"], flat(att), x1, acc);
    ops::rms_norm(r, x1, w["ffn_norm"], xn2, eps);
    ops::matmul(r, w["w_gate"], xn2, gate);
    ops::matmul(r, w["w_up"], xn2, up);
    ops::swiglu(r, gate, up, h);
    r.copy(x1.buf, x2.buf);
    ops::matmul(r, w["w_down"], h, x2, acc);
    ops::rms_norm(r, x2, w["output_norm"], xf, eps);
    ops::matmul(r, out_w, xf, logits);
    ops::cross_entropy(r, logits, targets, dlogits, per_token, value);
    // Backward: the op list in reverse.
    ops::matmul_backward(r, out_w, xf, dlogits, dxn, out_g, {});
    ops::rms_norm_backward(r, x2, w["output_norm"], dxn, dres, g["output_norm"], rstd, eps);
    ops::matmul_backward(r, w["w_down"], h, dres, dh, g["w_down"], {});
    ops::swiglu_backward(r, gate, up, dh, dgate, dup);
    ops::matmul_backward(r, w["w_gate"], xn2, dgate, dxn, g["w_gate"], {});
    ops::matmul_backward(r, w["w_up"], xn2, dup, dxn, g["w_up"], {}, {.accumulate_input = true});
    ops::rms_norm_backward(r, x1, w["ffn_norm"], dxn, dres, g["ffn_norm"], rstd, eps, {.accumulate_input = true});
    ops::matmul_backward(r, w["wo"], flat(att), dres, flat(datt), g["wo"], {});
    ops::attention_backward(r, q, k, v, att, lse, datt, scale, dq, dk, dv);
    ops::rope_backward(r, dq, pos, inv_freq, mode, dq);
    ops::rope_backward(r, dk, pos, inv_freq, mode, dk);
    ops::matmul_backward(r, w["wq"], xn1, flat(dq), dxn, g["wq"], g["bq"]);
    ops::matmul_backward(r, w["wk"], xn1, flat(dk), dxn, g["wk"], g["bk"], {.accumulate_input = true});
    ops::matmul_backward(r, w["wv"], xn1, flat(dv), dxn, g["wv"], g["bv"], {.accumulate_input = true});
    ops::rms_norm_backward(r, x0, w["attn_norm"], dxn, dres, g["attn_norm"], rstd, eps, {.accumulate_input = true});
    ops::get_rows_backward(r, dres, ids, g["tok_embd"], /*accumulate=*/c.tied);  // tied: adds to the lm head's
  });

  auto& dev = test::device();
  EXPECT_NEAR(download_f32(dev, value)[0], cpu_loss, 1e-5 * cpu_loss);
  for (auto& [name, want] : cpu_grads) {
    const std::vector<float> want_f(want.begin(), want.end());
    EXPECT_LT(ref::nmse(download_f32(dev, g[name]), want_f), 1e-9) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, GpuBlockTest,
                         testing::Values(BlockConfig{}, BlockConfig{64, 4, 2, 16, 96, 300, 33, true, false},
                                         BlockConfig{48, 6, 2, 8, 80, 257, 21, false, true}),
                         [](const auto& i) {
                           return "d" + std::to_string(i.param.d) + (i.param.neox ? "_neox" : "_interleaved") +
                                  (i.param.tied ? "_tied" : "_untied");
                         });

}  // namespace
}  // namespace ds
