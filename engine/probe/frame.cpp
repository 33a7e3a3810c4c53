// Frame parsing: header, then each section the plan enabled, into snapshot structs.
#include "probe/frame.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "probe/frame_ops.h"
#include "probe/logits_top.h"
#include "util/error.h"

namespace ds::probe {
namespace {

float f32(uint32_t w) {
  float f;
  std::memcpy(&f, &w, 4);
  return f;
}

// n (id, probability) pairs from [ids][probs] at w; absent ids (0xffffffff) dropped.
std::vector<std::pair<int32_t, float>> top_list(const uint32_t* w, int n) {
  std::vector<std::pair<int32_t, float>> out;
  for (int i = 0; i < n; ++i)
    if (w[i] != k_absent) out.emplace_back(int32_t(w[i]), f32(w[n + i]));
  return out;
}

}  // namespace

Frame parse_frame(const FrameLayout& f, std::span<const uint32_t> words) {
  const CapturePlan& p = f.plan;
  DS_CHECK(words.size() >= f.frame_words, "[frame] ", words.size(), " words, the layout's frames have ",
           f.frame_words);
  DS_CHECK(words[HdrMagic] == k_frame_magic, "[frame] no frame header (magic ", words[HdrMagic], ")");
  DS_CHECK(words[HdrTag] == f.tag, "[frame] frame of another capture plan (tag ", words[HdrTag], ", expected ",
           f.tag, ")");
  Frame fr;
  fr.seq = words[HdrSeq];
  fr.n_past = int32_t(words[HdrNPast]);
  fr.n_tokens = int32_t(words[HdrNTokens]);
  fr.n_queries = std::clamp(fr.n_tokens, 0, p.max_queries);
  const int nq = fr.n_queries;
  for (int t = 0; t < nq; ++t) fr.tokens.push_back(int32_t(words[f.token_ids + t]));

  const StatsLayout L = f.stats_layout();
  const bool activations = p.activation_stats || p.logit_lens;
  if (activations) {
    fr.activations.resize(size_t(nq));
    for (int t = 0; t < nq; ++t) {
      fr.activations[t].position = fr.n_past + t;
      fr.activations[t].token = fr.tokens[t];
      fr.activations[t].layers.resize(size_t(f.n_layers));
    }
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const bool pairs = p.divergence || p.layer_compare;
  if (pairs) {
    fr.divergence.resize(size_t(nq));
    for (int t = 0; t < nq; ++t) {
      fr.divergence[t].position = fr.n_past + t;
      fr.divergence[t].token = fr.tokens[t];
      fr.divergence[t].layer_cosine.assign(size_t(f.n_layers), nan);
      fr.divergence[t].layer_attn_js.assign(size_t(f.n_layers), nan);
    }
  }

  for (const LayerSections& s : f.layers) {
    if (s.attn_rows != k_absent) {
      const int n_keys = std::clamp(fr.n_past + nq, 0, p.max_context);
      for (size_t i = 0; i < f.heads.size(); ++i) {
        AttentionMap m;
        m.layer = s.layer;
        m.head = f.heads[i];
        m.kind = s.kind;
        m.implied = s.kind != LayerKind::Attention;
        m.query_begin = fr.n_past;
        m.n_queries = nq;
        m.n_keys = n_keys;
        m.probs.resize(size_t(nq) * size_t(n_keys));
        for (int t = 0; t < nq; ++t) {
          const uint32_t* row = words.data() + s.attn_rows + (i * size_t(p.max_queries) + t) * p.max_context;
          std::memcpy(m.probs.data() + size_t(t) * n_keys, row, size_t(n_keys) * sizeof(float));
        }
        fr.maps.push_back(std::move(m));
      }
    }
    for (int t = 0; t < nq; ++t) {
      if (activations) {
        LayerActivation& a = fr.activations[t].layers[size_t(s.layer)];
        if (s.stats != k_absent) {
          const uint32_t* w = words.data() + s.stats + size_t(t) * L.block_words();
          a.residual_norm = f32(w[0]);
          if (p.sublayer_norms) {
            a.mixer_out_norm = f32(w[1]);
            a.mlp_out_norm = f32(w[2]);
          }
          for (int k = 0; k < L.top_k; ++k)
            if (w[3 + L.top_k + k] != k_absent) a.top_channels.emplace_back(int(w[3 + L.top_k + k]), f32(w[3 + k]));
          a.histogram.assign(w + 3 + 2 * L.top_k, w + 3 + 2 * L.top_k + L.bins);
          a.hist_lo = L.lo;
          a.hist_hi = L.hi;
        }
        if (s.lens != k_absent) a.logit_lens = top_list(words.data() + s.lens + size_t(t) * lens_block_words(p.lens_top), p.lens_top);
      }
      if (s.compare != k_absent) {
        const uint32_t* w = words.data() + s.compare + size_t(t) * 2;
        fr.divergence[t].layer_cosine[size_t(s.layer)] = f32(w[0]);
        if (s.attn_rows != k_absent) fr.divergence[t].layer_attn_js[size_t(s.layer)] = f32(w[1]);
      }
    }
  }

  if (f.divergence != k_absent)
    for (int t = 0; t < nq; ++t) {
      const uint32_t* w = words.data() + f.divergence + size_t(t) * divergence_block_words(p.div_top);
      TokenDivergence& d = fr.divergence[t];
      d.kl = f32(w[0]);
      d.reverse_kl = f32(w[1]);
      d.top1_agree = f32(w[2]) != 0.0f;
      d.topk_overlap = f32(w[3]);
      d.entropy_teacher = f32(w[4]);
      d.entropy_student = f32(w[5]);
      d.teacher_top1 = int32_t(w[6]);
      d.student_top1 = int32_t(w[7]);
      d.p_teacher = f32(w[8]);
      d.p_student = f32(w[9]);
      d.token = int32_t(w[10]);
      d.teacher_top = top_list(w + 12, p.div_top);
      d.student_top = top_list(w + 12 + 2 * p.div_top, p.div_top);
    }
  return fr;
}

}  // namespace ds::probe
