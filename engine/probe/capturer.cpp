// Capturer: the capture hooks, their scratch, and the completeness check at the end of a step.
#include "probe/capturer.h"

#include <algorithm>
#include <cmath>

#include "ops/matmul.h"
#include "ops/norm.h"
#include "probe/activation_stats.h"
#include "probe/attention_rows.h"
#include "probe/compare.h"
#include "probe/frame_ops.h"
#include "probe/logits_top.h"
#include "util/error.h"
#include "vk/recorder.h"

namespace ds::probe {

Capturer::Capturer(Ring& ring, vk::Arena& scratch, int n_ctx, LensWeights lens) : ring_(ring), lens_(std::move(lens)) {
  const FrameLayout& f = ring.layout();
  const CapturePlan& p = f.plan;
  const int q = p.max_queries;
  auto scratch_f32 = [&](size_t n, const char* name) {
    return make_tensor(scratch, DType::F32, {int64_t(std::max<size_t>(n, 4)), 1, 1, 1}, name);
  };
  if (p.attention_rows)
    row_partials_ = scratch_f32(attention_rows_partials(int(f.heads.size()), q, n_ctx, p.max_context),
                                "probe.row_partials");
  if (p.logit_lens) {
    DS_CHECK(lens_.output_norm && lens_.output, "[capture] logit lens planned but no final norm / lm head given");
    lens_norm_ = make_tensor(scratch, DType::F32, {f.d_model, q, 1, 1}, "probe.lens_norm");
    lens_logits_ = make_tensor(scratch, DType::F32, {f.vocab, q, 1, 1}, "probe.lens_logits");
    lens_partials_ = scratch_f32(logits_partials(f.vocab, q, p.lens_top, false), "probe.lens_partials");
  }
  if (p.divergence)
    div_partials_ = scratch_f32(logits_partials(f.vocab, q, std::max(p.div_topk, p.div_top), true),
                                "probe.div_partials");
}

const LayerSections& Capturer::sections(const char* hook, int layer) const {
  const LayerSections* s = ring_.layout().find(layer);
  DS_CHECK(s, "[capture] ", hook, ": layer ", layer, " is not in the capture plan");
  return *s;
}

int Capturer::queries(const char* hook, int64_t rows) const {
  DS_CHECK(rows >= 1, "[capture] ", hook, ": empty batch");
  return int(std::min<int64_t>(rows, ring_.layout().plan.max_queries));
}

void Capturer::mark(int layer, const char* what) {
  DS_CHECK(done_.emplace(layer, what).second, "[capture] layer ", layer, ": ", what, " recorded twice in one step");
}

void Capturer::begin(vk::Recorder& rec, const Tensor& step, const Tensor& ids) {
  done_.clear();
  ring_.record_header(rec, step, ids);
  mark(-1, "header");
}

void Capturer::attention(vk::Recorder& rec, int layer, const Tensor& q, const Tensor& k_cache, const Tensor& step) {
  const LayerSections& s = sections("attention", layer);
  if (s.attn_rows == k_absent) return;
  const FrameLayout& f = ring_.layout();
  AttentionRowsArgs a;
  a.heads = f.heads;
  a.max_keys = f.plan.max_context;
  a.n_queries = queries("attention", q.ne[2]);
  a.query_stride = f.plan.max_queries;
  a.scale = 1.0f / std::sqrt(float(q.ne[0]));
  attention_rows(rec, q, k_cache, step, ring_.index(), a, ring_.at(s.attn_rows), row_partials_);
  mark(layer, "attention rows");
}

MixerRowsArgs Capturer::rows_args(const char* hook, int64_t rows) const {
  const FrameLayout& f = ring_.layout();
  return {f.heads, f.plan.max_context, queries(hook, rows), f.plan.max_queries};
}

void Capturer::linear_implied(vk::Recorder& rec, int layer, const Tensor& q, const Tensor& k_history,
                              const ops::LinearMixerWeights& w, int window, bool affine, const Tensor& step) {
  const LayerSections& s = sections("linear_implied", layer);
  if (s.attn_rows == k_absent) return;
  DS_CHECK(s.kind == LayerKind::Linear, "[capture] layer ", layer, " is not a linear layer");
  linear_implied_rows(rec, q, k_history, w, window, affine, step, ring_.index(), rows_args("linear_implied", q.ne[2]),
                      ring_.at(s.attn_rows), row_partials_);
  mark(layer, "attention rows");
}

void Capturer::mamba_implied(vk::Recorder& rec, int layer, int64_t n, const Tensor& zxbc_history,
                             const Tensor& dt_history, const Tensor& dt_sums, const ops::MambaWeights& w,
                             const MambaDims& dims, const Tensor& step) {
  const LayerSections& s = sections("mamba_implied", layer);
  if (s.attn_rows == k_absent) return;
  DS_CHECK(s.kind == LayerKind::Mamba, "[capture] layer ", layer, " is not a mamba layer");
  const int cph = mamba_channels_per_head(dims, ring_.layout().n_heads);
  mamba_implied_rows(rec, zxbc_history, dt_history, w, dims, cph, step, ring_.index(), rows_args("mamba_implied", n),
                     ring_.at(s.attn_rows), row_partials_, dt_sums);
  mark(layer, "attention rows");
}

void Capturer::mixer_out(vk::Recorder& rec, int layer, const Tensor& out) {
  const LayerSections& s = sections("mixer_out", layer);
  if (s.stats == k_absent || !ring_.layout().plan.sublayer_norms) return;
  activation_stats(rec, out, queries("mixer_out", out.rows()), ring_.layout().stats_layout(), NormSlot::MixerOut,
                   false, ring_.index(), ring_.at(s.stats));
  mark(layer, "mixer-out norm");
}

void Capturer::mlp_out(vk::Recorder& rec, int layer, const Tensor& out) {
  const LayerSections& s = sections("mlp_out", layer);
  if (s.stats == k_absent || !ring_.layout().plan.sublayer_norms) return;
  activation_stats(rec, out, queries("mlp_out", out.rows()), ring_.layout().stats_layout(), NormSlot::MlpOut, false,
                   ring_.index(), ring_.at(s.stats));
  mark(layer, "MLP-out norm");
}

void Capturer::residual(vk::Recorder& rec, int layer, const Tensor& x) {
  const LayerSections& s = sections("residual", layer);
  const FrameLayout& f = ring_.layout();
  const int n = queries("residual", x.rows());
  DS_CHECK(x.ne[0] == f.d_model, "[capture] residual of layer ", layer, ": ", x.name, " is ", x.shape_str(),
           ", the model's d_model is ", f.d_model);
  if (s.stats != k_absent) {
    activation_stats(rec, x, n, f.stats_layout(), NormSlot::Residual, true, ring_.index(), ring_.at(s.stats));
    mark(layer, "residual stats");
  }
  if (s.lens != k_absent) {
    const Tensor xs = x.rows_view(0, n), norm = lens_norm_.rows_view(0, n), logits = lens_logits_.rows_view(0, n);
    ops::rms_norm(rec, xs, lens_.output_norm, norm, lens_.eps);
    ops::matmul(rec, lens_.output, norm, logits);
    logits_top(rec, logits, n, f.plan.lens_top, ring_.index(), ring_.at(s.lens), lens_partials_);
    mark(layer, "logit lens");
  }
  if (s.residual != k_absent) {
    copy_words(rec, Span::plain(x), ring_.at(s.residual), uint32_t(n * f.d_model), ring_.index());
    mark(layer, "saved residual");
  }
}

void Capturer::compare(vk::Recorder& rec, int layer, const Ring& partner, const Tensor& x) {
  const LayerSections& s = sections("compare", layer);
  if (s.compare == k_absent) return;
  const FrameLayout& f = ring_.layout();
  const FrameLayout& g = partner.layout();
  const LayerSections* ps = g.find(layer);
  DS_CHECK(ps && ps->residual != k_absent, "[capture] compare: the partner ring saves no residual of layer ", layer,
           " (plan save_residual with the layer)");
  DS_CHECK(partner.n_frames() == ring_.n_frames(), "[capture] compare: partner ring has ", partner.n_frames(),
           " frames, this one ", ring_.n_frames(), " (rings must advance in lockstep)");
  DS_CHECK(g.d_model == f.d_model && g.plan.max_queries == f.plan.max_queries, "[capture] compare: d_model ",
           g.d_model, " vs ", f.d_model, ", max_queries ", g.plan.max_queries, " vs ", f.plan.max_queries,
           " differ between the rings");
  const int n = queries("compare", x.rows());
  const Span out = ring_.at(s.compare);
  cosine(rec, partner.at(ps->residual), Span::plain(x), f.d_model, n, ring_.index(), out, 2);
  if (s.attn_rows != k_absent && ps->attn_rows != k_absent) {
    DS_CHECK(g.heads == f.heads && g.plan.max_context == f.plan.max_context, "[capture] compare: attention rows of ",
             "layer ", layer, " differ in heads or max_context between the rings");
    attention_js(rec, partner.at(ps->attn_rows), ring_.at(s.attn_rows), f.plan.max_context, n, int(f.heads.size()),
                 f.row_group_words(), ring_.index(), out.plus(1), 2);
  }
  mark(layer, "compare");
}

void Capturer::divergence(vk::Recorder& rec, const Tensor& teacher, const Tensor& student, const Tensor& tokens) {
  const FrameLayout& f = ring_.layout();
  DS_CHECK(f.divergence != k_absent, "[capture] divergence recorded but not in the capture plan");
  DivergenceArgs a{f.plan.div_topk, f.plan.div_top};
  probe::divergence(rec, teacher, student, tokens, queries("divergence", student.rows()), a, ring_.index(),
                    ring_.at(f.divergence), div_partials_);
  mark(-1, "divergence");
}

void Capturer::finish(vk::Recorder& rec) {
  const FrameLayout& f = ring_.layout();
  const CapturePlan& p = f.plan;
  std::string missing;
  auto need = [&](int layer, const char* what) {
    if (!done_.count({layer, what})) missing += cat(missing.empty() ? "" : "; ", layer < 0 ? std::string("step") :
                                                    cat("layer ", layer), ": ", what);
  };
  need(-1, "header");
  for (const LayerSections& s : f.layers) {
    if (s.attn_rows != k_absent) need(s.layer, "attention rows");
    if (s.stats != k_absent) {
      need(s.layer, "residual stats");
      if (p.sublayer_norms) {
        need(s.layer, "mixer-out norm");
        need(s.layer, "MLP-out norm");
      }
    }
    if (s.lens != k_absent) need(s.layer, "logit lens");
    if (s.residual != k_absent) need(s.layer, "saved residual");
    if (s.compare != k_absent) need(s.layer, "compare");
  }
  if (f.divergence != k_absent) need(-1, "divergence");
  DS_CHECK(missing.empty(), "[capture] the plan's sections were not all recorded this step: ", missing);
  ring_.record_publish(rec);
  done_.clear();
}

}  // namespace ds::probe
