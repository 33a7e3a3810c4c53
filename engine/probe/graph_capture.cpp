// insert_captures: copies a forward graph, adding capture nodes (and scratch + add for sublayer norms).
#include "probe/graph_capture.h"

#include <string_view>

#include "util/error.h"

namespace ds::probe {
namespace {

// "blk.12.attn_out" -> (12, "attn_out"); other names -> (-1, name).
std::pair<int, std::string_view> split_name(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return {-1, name};
  const size_t dot = name.find('.', 4);
  if (dot == std::string_view::npos || dot == 4) return {-1, name};
  int layer = 0;
  for (char ch : name.substr(4, dot - 4)) {
    if (ch < '0' || ch > '9') return {-1, name};
    layer = layer * 10 + (ch - '0');
  }
  return {layer, name.substr(dot + 1)};
}

// The step tensor (I32 {n_past, n_tokens, ..}) of the pass, from the first node that reads it.
Tensor find_step(const Graph& g) {
  for (const OpNode& n : g.nodes()) {
    if (n.kind == OpKind::Attention || n.kind == OpKind::KvStore) return n.aux;
    if (n.kind == OpKind::RopeStore) return n.in[5];
    if (n.kind == OpKind::LinearMixer) return n.aux;
  }
  fail("[capture] the graph has no attention or cache-store node to take the step tensor from");
}

// After a mixer node of a layer that keeps history: the pass's keys (linear) or zxbc and dt (mamba) appended.
void append_history(Graph& out, const OpNode& node, const MixerHistory::Layer& h, const Tensor& step) {
  if (node.kind == OpKind::LinearMixer) {
    const Tensor k = node.in[1];
    const Tensor hist = h.k;
    DS_CHECK(hist, "[capture] ", node.name, ": layer ", h.layer, " keeps no key history");
    out.capture(node.name + ".history",
                [k, hist, step](vk::Recorder& r) { store_history(r, k, k.ne[2], step, hist); });
  } else {
    const Tensor zxbc = node.in[0], dt = node.in[1], zh = h.zxbc, dh = h.dt;
    DS_CHECK(zh && dh, "[capture] ", node.name, ": layer ", h.layer, " keeps no zxbc / dt history");
    out.capture(node.name + ".history", [zxbc, dt, zh, dh, step](vk::Recorder& r) {
      store_history(r, zxbc, zxbc.ne[1], step, zh);
      store_history(r, dt, dt.ne[1], step, dh);
    });
  }
}

// The history entry of a mixer node ("blk.N.lin_mix" / "blk.N.ssm_scan"), or null.
const MixerHistory::Layer* mixer_history(const MixerHistory* history, const OpNode& node, int layer,
                                         std::string_view what) {
  if (!history || layer < 0) return nullptr;
  const bool mixer = (what == "lin_mix" && node.kind == OpKind::LinearMixer) ||
                     (what == "ssm_scan" && node.kind == OpKind::MambaMixer);
  return mixer ? history->find(layer) : nullptr;
}

}  // namespace

Graph insert_history(const Graph& g, const MixerHistory& history) {
  const Tensor step = find_step(g);
  Graph out;
  for (const OpNode& node : g.nodes()) {
    out.append(node);
    const auto [layer, what] = split_name(node.name);
    if (const MixerHistory::Layer* h = mixer_history(&history, node, layer, what)) append_history(out, node, *h, step);
  }
  return out;
}

CaptureSet::CaptureSet(Device& dev, const FrameLayout& layout, vk::Arena& scratch, int n_ctx, int max_rows,
                       LensWeights lens, const RingOptions& ring)
    : ring_(dev, layout, ring), capturer_(ring_, scratch, n_ctx, std::move(lens)) {
  if (layout.plan.activation_stats && layout.plan.sublayer_norms && !layout.layers.empty())
    sublayer_ = make_tensor(scratch, DType::F32, {layout.d_model, max_rows, 1, 1}, "probe.sublayer_out");
}

Graph insert_captures(const Graph& g, CaptureSet& set, const CaptureLinks& links, const MixerHistory* history) {
  const FrameLayout& f = set.ring().layout();
  Capturer* cap = &set.capturer();
  const int embd = g.find("token_embd");
  DS_CHECK(embd >= 0, "[capture] the graph has no token_embd node (token ids for the frame header)");
  const Tensor ids = g.nodes()[size_t(embd)].in[1];
  const Tensor step = find_step(g);
  if (f.divergence != k_absent)
    DS_CHECK(links.teacher_logits && links.tokens,
             "[capture] the plan measures divergence but no teacher logits "
             "and emitted tokens were linked");

  Graph out;
  out.capture("probe.begin", [cap, step, ids](vk::Recorder& r) { cap->begin(r, step, ids); });
  for (const OpNode& node : g.nodes()) {
    const auto [layer, what] = split_name(node.name);
    const LayerSections* s = layer >= 0 ? f.find(layer) : nullptr;
    const bool mixer = what == "attn_out" || what == "ssm_out", mlp = what == "ffn_out";
    const std::string& name = node.name;

    if (s && s->stats != k_absent && f.plan.sublayer_norms && (mixer || mlp)) {
      // out += W·a becomes part = W·a; out = out + part (the same sum, so the model's output is unchanged).
      DS_CHECK(node.kind == OpKind::MatMul && node.accumulate, "[capture] ", name,
               " is not a residual-accumulating mat-mul; cannot capture its output norm");
      const Tensor part = set.sublayer().rows_view(0, node.out.rows());
      OpNode m = node;
      m.out = part;
      m.accumulate = false;
      out.append(std::move(m));
      out.add(name + ".add", node.out, part, node.out);
      if (mixer)
        out.capture(name + ".probe", [cap, layer, part](vk::Recorder& r) { cap->mixer_out(r, layer, part); });
      else
        out.capture(name + ".probe", [cap, layer, part](vk::Recorder& r) { cap->mlp_out(r, layer, part); });
    } else {
      out.append(node);
    }

    if (s && what == "attn" && node.kind == OpKind::Attention && s->attn_rows != k_absent) {
      const Tensor q = node.in[0], k_cache = node.in[1], st = node.aux;
      out.capture(name + ".probe",
                  [cap, layer, q, k_cache, st](vk::Recorder& r) { cap->attention(r, layer, q, k_cache, st); });
    }
    if (const MixerHistory::Layer* h = mixer_history(history, node, layer, what)) append_history(out, node, *h, step);
    if (s && s->attn_rows != k_absent && s->kind != LayerKind::Attention &&
        (node.kind == OpKind::LinearMixer || node.kind == OpKind::MambaMixer)) {
      const MixerHistory::Layer* h = mixer_history(history, node, layer, what);
      DS_CHECK(h, "[capture] the plan captures the implied attention of layer ", layer, " (", name,
               ") but no mixer history was given for it");
      if (node.kind == OpKind::LinearMixer) {
        const Tensor q = node.in[0], k_hist = h->k;
        const ops::LinearMixerWeights w{node.in[3], node.in[4], node.in[5]};
        const int window = node.window;
        const bool affine = node.affine;
        out.capture(name + ".probe", [cap, layer, q, k_hist, w, window, affine, step](vk::Recorder& r) {
          cap->linear_implied(r, layer, q, k_hist, w, window, affine, step);
        });
      } else {
        const Tensor zh = h->zxbc, dh = h->dt, sums = h->dt_sums;
        const ops::MambaWeights w{node.in[2], node.in[3], node.in[4], node.in[5], node.in[6]};
        const MambaDims dims = node.mamba;
        const int64_t n = node.in[0].ne[1];
        out.capture(name + ".probe", [cap, layer, n, zh, dh, sums, w, dims, step](vk::Recorder& r) {
          cap->mamba_implied(r, layer, n, zh, dh, sums, w, dims, step);
        });
      }
    }
    if (s && mlp) {
      const Tensor x = node.out;
      out.capture(name + ".residual", [cap, layer, x](vk::Recorder& r) { cap->residual(r, layer, x); });
      if (s->compare != k_absent) {
        DS_CHECK(links.partner, "[capture] the plan compares layer ", layer, " but no partner ring was linked");
        const Ring* partner = links.partner;
        out.capture(name + ".compare",
                    [cap, layer, partner, x](vk::Recorder& r) { cap->compare(r, layer, *partner, x); });
      }
    }
    if (name == "logits" && f.divergence != k_absent) {
      const Tensor student = node.out, teacher = links.teacher_logits, tokens = links.tokens;
      out.capture("logits.divergence",
                  [cap, teacher, student, tokens](vk::Recorder& r) { cap->divergence(r, teacher, student, tokens); });
    }
  }
  out.capture("probe.finish", [cap](vk::Recorder& r) { cap->finish(r); });
  return out;
}

}  // namespace ds::probe
