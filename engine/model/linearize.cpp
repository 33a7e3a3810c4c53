// Student config and mixer initialization from a teacher's attention (see linearize.h).
#include "model/linearize.h"

#include <algorithm>

#include "model/hf_config.h"
#include "model/hybrid_config.h"
#include "ops/linear_mixer.h"
#include "util/error.h"

namespace ds {

namespace {

// The teacher's q/k rows in Hugging Face order (rotate-half), whatever file they came from: Mamba mixers have
// no RoPE, so the student is the same from a GGUF or an HF teacher.
std::vector<float> rows_hf_order(const ModelSource& src, const std::string& name, int heads) {
  std::vector<float> v = src.read_f32(name);
  if (src.config().rope.style != RopeStyle::Interleaved) return v;
  const std::vector<uint32_t> hf_of = hf_row_of_gguf(heads, src.config().head_dim);
  const size_t row = v.size() / hf_of.size();
  std::vector<float> out(v.size());
  for (size_t g = 0; g < hf_of.size(); ++g)
    std::copy_n(v.begin() + ptrdiff_t(g * row), row, out.begin() + ptrdiff_t(size_t(hf_of[g]) * row));
  return out;
}

// `had`: the teacher already has layers of this kind (whose hyper-parameters the new ones must share).
void set_mamba_config(const ModelConfig& t, HybridConfig& h, int d_state, bool had) {
  HybridConfig want;
  want.d_state = d_state;
  want.d_inner = t.q_dim();
  want.d_xb = t.kv_dim();
  want.d_conv = 4;
  want.dt_rank = (t.d_model + 15) / 16;
  want.bias = t.qkv_bias || t.attn_out_bias;  // the teacher's biases go into in_proj / out_proj
  if (had)
    DS_CHECK(h.d_state == want.d_state && h.d_inner == want.d_inner && h.d_xb == want.d_xb, "[linearize] the teacher ",
             "already has Mamba layers with d_state ", h.d_state, ", d_inner ", h.d_inner, ", d_xb ", h.d_xb,
             "; new ones would have d_state ", d_state, ", d_inner ", want.d_inner, ", d_xb ", want.d_xb);
  else {
    h.d_state = want.d_state;
    h.d_inner = want.d_inner;
    h.d_xb = want.d_xb;
    h.d_conv = want.d_conv;
    h.dt_rank = want.dt_rank;
    h.bias = want.bias;
  }
}

void set_linear_config(const ModelConfig& t, HybridConfig& h, const LinearizeOptions& o, bool had) {
  LinearMixerConfig want;
  want.features = o.features > 0 ? o.features : t.head_dim;
  want.window = o.window;
  want.query_maps = want.key_maps = t.n_heads;  // LoLCATs: one map per query head
  if (had)
    DS_CHECK(h.linear.features == want.features && h.linear.window == want.window, "[linearize] the teacher already ",
             "has linear layers with ", h.linear.features, " features and window ", h.linear.window, "; new ones would have ",
             want.features, " and ", want.window);
  else
    h.linear = want;
}

void add_mamba(const ModelSource& src, const ModelConfig& s, int l, const LinearizeOptions& o, Student& out) {
  const ModelConfig& t = src.config();
  const std::string p = "blk." + std::to_string(l) + ".";
  std::vector<float> wq = rows_hf_order(src, p + "attn_q.weight", t.n_heads);
  std::vector<float> wk = rows_hf_order(src, p + "attn_k.weight", t.n_kv_heads);
  std::vector<float> wv = src.read_f32(p + "attn_v.weight"), wo = src.read_f32(p + "attn_output.weight");
  std::vector<float> bo = src.find(p + "attn_output.bias") ? src.read_f32(p + "attn_output.bias") : std::vector<float>{};
  MambaInitOptions mo;
  mo.seed = o.seed;
  for (InitTensor& it : init_mamba_from_attention(s, l, {wq, wk, wv, wo, bo}, mo)) out.tensors[it.name] = std::move(it);
  if (t.qkv_bias) {  // in_proj rows x <- v bias, B <- k bias, C <- q bias (as the weights)
    std::vector<float>& b = out.tensors.at(p + "ssm_in.bias").data;
    const size_t di = size_t(s.hybrid.d_inner), dxb = size_t(s.hybrid.d_xb);
    std::vector<float> bq = rows_hf_order(src, p + "attn_q.bias", t.n_heads);
    std::vector<float> bk = rows_hf_order(src, p + "attn_k.bias", t.n_kv_heads);
    std::vector<float> bv = src.read_f32(p + "attn_v.bias");
    std::copy(bv.begin(), bv.end(), b.begin() + ptrdiff_t(di));
    std::copy(bk.begin(), bk.end(), b.begin() + ptrdiff_t(di + dxb));
    std::copy(bq.begin(), bq.end(), b.begin() + ptrdiff_t(di + 2 * dxb));
  }
}

void add_linear(const ModelConfig& s, int l, const LinearizeOptions& o, Student& out) {
  const LinearMixerConfig& L = s.hybrid.linear;
  const std::vector<float> map = ops::linear_mixer_init(s.head_dim, L.features, o.seed + uint64_t(l));
  const std::string p = "blk." + std::to_string(l) + ".";
  for (auto [name, maps] : {std::pair{"lin_fm_q", L.query_maps}, std::pair{"lin_fm_k", L.key_maps}}) {
    InitTensor t{p + name, {L.features, s.head_dim, maps, 1}, {}};
    for (int m = 0; m < maps; ++m) t.data.insert(t.data.end(), map.begin(), map.end());
    out.tensors[t.name] = std::move(t);
  }
  out.tensors[p + "lin_window_factor"] = InitTensor{p + "lin_window_factor", {s.n_heads, 1, 1, 1},
                                                    std::vector<float>(size_t(s.n_heads), 0.0f)};
}

}  // namespace

Student linearize(const ModelSource& teacher, const LinearizeOptions& o) {
  const ModelConfig& t = teacher.config();
  DS_CHECK(o.mixer == LayerKind::Mamba || o.mixer == LayerKind::Linear, "[linearize] the mixer must be mamba or linear");
  DS_CHECK(!o.layers.empty(), "[linearize] no layers to replace (--layers 1,3)");
  Student s;
  s.config = t;
  HybridConfig& h = s.config.hybrid;
  const bool had = h.count(o.mixer) > 0;
  if (h.layers.empty()) h.layers.assign(size_t(t.n_layers), LayerKind::Attention);
  for (int l : o.layers) {
    DS_CHECK(l >= 0 && l < t.n_layers, "[linearize] layer ", l, " is outside the teacher's 0..", t.n_layers - 1);
    DS_CHECK(h.layers[size_t(l)] == LayerKind::Attention, "[linearize] layer ", l, " is already ",
             layer_kind_name(h.layers[size_t(l)]), ", not attention");
    h.layers[size_t(l)] = o.mixer;
  }
  if (o.mixer == LayerKind::Mamba) {
    DS_CHECK(o.d_state >= 1 && t.kv_dim() % o.d_state == 0 && t.q_dim() % o.d_state == 0, "[linearize] --d-state ",
             o.d_state, " must divide the KV width ", t.kv_dim(), " (", t.n_kv_heads, " kv heads x head_dim ", t.head_dim,
             ") and the q width ", t.q_dim());
    set_mamba_config(t, h, o.d_state, had);
  } else {
    set_linear_config(t, h, o, had);
  }
  if (o.hf_output && o.mixer == LayerKind::Mamba) s.config.arch = k_arch_apriel_hybrid;
  check_hybrid_config(s.config, "[linearize]");
  std::vector<int> layers = o.layers;
  std::sort(layers.begin(), layers.end());
  for (int l : layers) {
    if (o.mixer == LayerKind::Mamba) add_mamba(teacher, s.config, l, o, s);
    else add_linear(s.config, l, o, s);
  }
  return s;
}

}  // namespace ds
