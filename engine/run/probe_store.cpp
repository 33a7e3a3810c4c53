// Probe data <-> store records: the writes of trace and compare steps, and their replay from a stored run.
#include "distilscope/probe_store.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "distilscope/model.h"
#include "distilscope/tokenizer.h"
#include "run/trace_rows.h"
#include "util/error.h"
#include "util/json.h"
#include "util/json_parse.h"

namespace ds {
namespace {

constexpr const char* kAttention = "attention";
constexpr const char* kActStats = "act_stats";
constexpr const char* kActHist = "act_hist";
constexpr const char* kLens = "logit_lens";
constexpr const char* kTeacherTop = "teacher_top";
constexpr const char* kTokenProbs = "token_probs";
const float kNaN = std::numeric_limits<float>::quiet_NaN();

Blob pairs_blob(BlobKey key, const std::vector<std::pair<int32_t, float>>& top) {
  std::vector<float> v;
  for (const auto& [id, p] : top) {
    v.push_back(float(id));
    v.push_back(p);
  }
  return Blob::from_floats(std::move(key), {2, int64_t(top.size())}, v);
}

std::vector<std::pair<int32_t, float>> blob_pairs(const Blob& b) {
  const auto v = b.floats();
  std::vector<std::pair<int32_t, float>> out;
  for (size_t i = 0; i + 1 < v.size(); i += 2) out.emplace_back(int32_t(v[i]), v[i + 1]);
  return out;
}

Blob get(Store& store, const BlobKey& key) {
  auto b = store.get_blob(key);
  DS_CHECK(b, "[replay] run ", key.run_id, ": blob ", key.kind, " (", key.index, ", ", key.layer, ", ", key.head,
           ") is listed but missing");
  return std::move(*b);
}

std::vector<int> int_list(const JsonRef& obj, const char* key) {
  std::vector<int> out;
  if (auto a = obj.opt(key))
    for (size_t i = 0; i < a->size(); ++i) out.push_back(int(a->at(i).as_int()));
  return out;
}

}  // namespace

std::string layer_layout(const ModelConfig& c) {
  std::string s;
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerKind k = c.layer_kind(l);
    s += k == LayerKind::Attention ? 'A' : k == LayerKind::Mamba ? 'M' : 'L';
  }
  return s;
}

int64_t register_model(Store& store, const Model& model) {
  return store.register_model_file(model.path(), model.config().arch, layer_layout(model.config())).id;
}

std::string trace_config_json(const TraceOptions& o, const ModelConfig& c, const GenerateOptions& gen) {
  JsonWriter j;
  j.begin_object();
  j.key("layers").begin_array();
  for (int l = 0; l < c.n_layers; ++l)
    if (o.layers.empty()) j.value(l);
  for (int l : o.layers) j.value(l);
  j.end_array().key("heads").begin_array();
  std::vector<int> heads = o.heads;
  std::sort(heads.begin(), heads.end());
  for (int h = 0; h < c.n_heads; ++h)
    if (heads.empty()) j.value(h);
  for (int h : heads) j.value(h);
  j.end_array();
  j.field("attention", o.attention).field("activations", o.activations).field("logit_lens", o.logit_lens);
  j.field("top_channels", o.top_channels).field("hist_bins", o.hist_bins).field("hist_range", double(o.hist_range));
  j.field("lens_top", o.lens_top).field("max_tokens", gen.max_tokens);
  j.key("sampling").begin_object().field("temperature", double(gen.sampling.temperature));
  j.field("top_k", gen.sampling.top_k).field("top_p", double(gen.sampling.top_p)).field("seed", gen.sampling.seed);
  j.end_object().end_object();
  return j.str();
}

std::string compare_config_json(const PairOptions& o, const Pair& pair, int max_tokens) {
  JsonWriter j;
  j.begin_object().field("max_tokens", max_tokens).field("div_topk", o.div_topk).field("div_top", o.div_top);
  j.field("attention_js", pair.measures_js()).key("layers").begin_array();
  for (int l : pair.compared_layers()) j.value(l);
  j.end_array().end_object();
  return j.str();
}

std::vector<StoreWrite> trace_step_writes(int64_t run_id, const TraceStep& step, bool blobs) {
  std::vector<StoreWrite> w;
  for (const TracedToken& t : step.tokens) {
    Token tok;
    tok.run_id = run_id;
    tok.index = t.position;
    tok.token_id = t.id;
    tok.piece = t.piece;
    tok.time_ms = t.ms;
    tok.is_prompt = t.prompt;
    w.emplace_back(std::move(tok));
  }
  if (!blobs) return w;
  for (const AttentionMap& m : step.maps)
    for (int t = 0; t < m.n_queries; ++t) {
      const int pos = m.query_begin + t;
      const size_t n = size_t(std::min(pos + 1, m.n_keys));
      std::span<const float> row(m.probs.data() + size_t(t) * size_t(m.n_keys), n);
      w.emplace_back(Blob::from_floats({run_id, pos, m.layer, m.head, kAttention}, {int64_t(n)}, row));
    }
  for (const TokenActivations& a : step.activations)
    for (size_t l = 0; l < a.layers.size(); ++l) {
      const LayerActivation& L = a.layers[l];
      if (!L.histogram.empty()) {
        std::vector<float> v = {L.residual_norm, L.mixer_out_norm, L.mlp_out_norm, L.hist_lo, L.hist_hi};
        for (const auto& [ch, x] : L.top_channels) {
          v.push_back(float(ch));
          v.push_back(x);
        }
        w.emplace_back(Blob::from_floats({run_id, a.position, int(l), -1, kActStats}, {int64_t(v.size())}, v));
        Blob h;
        h.key = {run_id, a.position, int(l), -1, kActHist};
        h.type = BlobType::I32;
        h.shape = {int64_t(L.histogram.size())};
        h.bytes.resize(L.histogram.size() * 4);
        std::memcpy(h.bytes.data(), L.histogram.data(), h.bytes.size());
        w.emplace_back(std::move(h));
      }
      if (!L.logit_lens.empty()) w.emplace_back(pairs_blob({run_id, a.position, int(l), -1, kLens}, L.logit_lens));
    }
  return w;
}

std::vector<StoreWrite> prompt_writes(int64_t run_id, std::span<const int32_t> prompt, const Tokenizer& tok) {
  std::vector<StoreWrite> w;
  for (size_t i = 0; i < prompt.size(); ++i) {
    Token t;
    t.run_id = run_id;
    t.index = int32_t(i);
    t.token_id = prompt[i];
    t.piece = token_piece(tok, prompt[i]);
    t.is_prompt = true;
    w.emplace_back(std::move(t));
  }
  return w;
}

std::vector<StoreWrite> pair_step_writes(int64_t run_id, const PairStep& step, const Tokenizer& tok) {
  const TokenDivergence& d = step.div;
  const int32_t idx = d.position + 1;
  std::vector<StoreWrite> w;
  Token t;
  t.run_id = run_id;
  t.index = idx;
  t.token_id = d.token;
  t.piece = token_piece(tok, d.token);
  t.time_ms = step.ms;
  t.prob = d.p_teacher;
  for (const auto& [id, p] : d.student_top) t.alternatives.push_back({id, p, token_piece(tok, id)});
  w.emplace_back(std::move(t));
  w.emplace_back(
      Divergence{run_id, idx, d.kl, d.reverse_kl, d.top1_agree, d.topk_overlap, d.entropy_teacher, d.entropy_student});
  for (size_t l = 0; l < d.layer_cosine.size(); ++l) {
    if (std::isnan(d.layer_cosine[l])) continue;
    LayerDivergence L{run_id, idx, int32_t(l), d.layer_cosine[l], std::nullopt};
    if (l < d.layer_attn_js.size() && !std::isnan(d.layer_attn_js[l])) L.attention_js = d.layer_attn_js[l];
    w.emplace_back(L);
  }
  w.emplace_back(pairs_blob({run_id, idx, -1, -1, kTeacherTop}, d.teacher_top));
  const float probs[2] = {d.p_teacher, d.p_student};
  w.emplace_back(Blob::from_floats({run_id, idx, -1, -1, kTokenProbs}, {2}, probs));
  return w;
}

TraceResult load_trace(Store& store, int64_t run_id) {
  const RunReplay run = store.load_run(run_id);
  DS_CHECK(run.run.kind == RunKind::Trace, "[replay] run ", run_id, " is a ", to_string(run.run.kind),
           " run, not a trace");
  TraceResult r;
  const JsonValue cfg = parse_json(run.run.config_json, cat("run ", run_id, " config"));
  const JsonRef c(cfg, cat("run ", run_id, " config"));
  r.layers = int_list(c, "layers");
  r.heads = int_list(c, "heads");
  const std::string layout = run.model ? run.model->layer_layout : "";
  const std::string name = run.model ? run.model->path : "";
  for (const Token& t : run.tokens) {
    r.tokens.push_back({t.index, t.token_id, t.piece, t.time_ms, t.is_prompt});
    if (!t.is_prompt) r.generation.tokens.push_back(t.token_id);
    if (!t.is_prompt) r.generation.text += t.piece;
    r.attention.token_labels.push_back(token_label(t.piece));
  }
  r.activations.token_labels = r.attention.token_labels;
  r.attention.model = r.activations.model = name;
  r.attention.n_layers = int(layout.size());
  for (char k : layout)
    r.attention.layout.push_back(k == 'M' ? LayerKind::Mamba : k == 'L' ? LayerKind::Linear : LayerKind::Attention);

  AttentionRows rows;
  std::map<int, TokenActivations> acts;  // by position
  for (const BlobInfo& info : run.blobs) {
    const BlobKey& k = info.key;
    if (k.kind == kAttention) {
      const Blob b = get(store, k);
      const LayerKind kind =
          size_t(k.layer) < layout.size() ? r.attention.layout[size_t(k.layer)] : LayerKind::Attention;
      rows.add(k.layer, k.head, kind, k.index, b.floats());
      r.attention.n_heads = std::max(r.attention.n_heads, k.head + 1);
      continue;
    }
    if (k.kind != kActStats && k.kind != kActHist && k.kind != kLens) continue;
    TokenActivations& a = acts[k.index];
    a.position = k.index;
    a.token = size_t(k.index) < r.tokens.size() ? r.tokens[size_t(k.index)].id : -1;
    a.layers.resize(std::max(layout.size(), size_t(k.layer) + 1));
    LayerActivation& L = a.layers[size_t(k.layer)];
    const Blob b = get(store, k);
    if (k.kind == kActStats) {
      const auto v = b.floats();
      DS_CHECK(v.size() >= 5, "[replay] run ", run_id, ": act_stats blob of ", v.size(), " values");
      L.residual_norm = v[0];
      L.mixer_out_norm = v[1];
      L.mlp_out_norm = v[2];
      L.hist_lo = v[3];
      L.hist_hi = v[4];
      for (size_t i = 5; i + 1 < v.size(); i += 2) L.top_channels.emplace_back(int(v[i]), v[i + 1]);
    } else if (k.kind == kActHist) {
      L.histogram.resize(b.bytes.size() / 4);
      std::memcpy(L.histogram.data(), b.bytes.data(), b.bytes.size());
    } else {
      L.logit_lens = blob_pairs(b);
    }
  }
  r.attention.maps = rows.maps();
  for (auto& [pos, a] : acts) r.activations.tokens.push_back(std::move(a));
  return r;
}

DivergenceSnapshot load_divergence(Store& store, int64_t run_id) {
  const RunReplay run = store.load_run(run_id);
  DS_CHECK(run.run.kind == RunKind::Compare, "[replay] run ", run_id, " is a ", to_string(run.run.kind),
           " run, not a compare");
  DivergenceSnapshot s;
  s.teacher = run.teacher ? run.teacher->path : "";
  s.student = run.model ? run.model->path : "";
  const std::string layout = run.model ? run.model->layer_layout : "";
  for (char k : layout)
    s.student_layout.push_back(k == 'M' ? LayerKind::Mamba : k == 'L' ? LayerKind::Linear : LayerKind::Attention);
  std::map<int32_t, const Token*> by_idx;
  for (const Token& t : run.tokens) {
    by_idx[t.index] = &t;
    s.token_labels.push_back(token_label(t.piece));
  }
  bool any_layer = !run.layers.empty(), any_js = false;
  for (const LayerDivergence& L : run.layers) any_js = any_js || L.attention_js.has_value();
  std::map<int32_t, size_t> row_of;
  for (const Divergence& d : run.divergence) {
    TokenDivergence t;
    t.position = d.index - 1;
    t.kl = float(d.kl);
    t.reverse_kl = float(d.reverse_kl);
    t.top1_agree = d.top1_agree;
    t.topk_overlap = float(d.topk_overlap);
    t.entropy_teacher = float(d.teacher_entropy);
    t.entropy_student = float(d.student_entropy);
    t.p_student = kNaN;
    if (auto it = by_idx.find(d.index); it != by_idx.end()) {
      const Token& tok = *it->second;
      t.token = tok.token_id;
      t.p_teacher = float(tok.prob.value_or(kNaN));
      for (const TokenAlt& a : tok.alternatives) t.student_top.emplace_back(a.token_id, a.prob);
      if (!t.student_top.empty()) t.student_top1 = t.student_top[0].first;
    }
    if (auto b = store.get_blob({run_id, d.index, -1, -1, kTeacherTop})) {
      t.teacher_top = blob_pairs(*b);
      if (!t.teacher_top.empty()) t.teacher_top1 = t.teacher_top[0].first;
    }
    if (auto b = store.get_blob({run_id, d.index, -1, -1, kTokenProbs}); b && b->floats().size() == 2) {
      t.p_teacher = b->floats()[0];
      t.p_student = b->floats()[1];
    }
    if (any_layer) t.layer_cosine.assign(layout.size(), kNaN);
    if (any_js) t.layer_attn_js.assign(layout.size(), kNaN);
    row_of[d.index] = s.tokens.size();
    s.tokens.push_back(std::move(t));
  }
  for (const LayerDivergence& L : run.layers) {
    auto it = row_of.find(L.index);
    if (it == row_of.end() || size_t(L.layer) >= layout.size()) continue;
    TokenDivergence& t = s.tokens[it->second];
    t.layer_cosine[size_t(L.layer)] = float(L.residual_cosine);
    if (L.attention_js) t.layer_attn_js[size_t(L.layer)] = float(*L.attention_js);
  }
  return s;
}

}  // namespace ds
