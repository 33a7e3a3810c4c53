// trace(): generate() with a capture plan on the session; frames are taken after every pass and merged
// into per-(layer, head) attention maps over the whole sequence and per-token activations.
#include "distilscope/trace.h"

#include <algorithm>
#include <map>

#include "distilscope/model.h"
#include "distilscope/tokenizer.h"
#include "probe/capture_plan.h"
#include "probe/frame.h"
#include "run/trace_rows.h"
#include "util/error.h"
#include "util/utf8.h"

namespace ds {

std::string token_piece(const Tokenizer& tok, int32_t id) {
  std::string bytes = tok.token_bytes(id);
  return bytes.empty() ? std::string(tok.piece(id)) : bytes;
}

std::string token_label(std::string_view piece) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    const char ch = piece[i];
    const size_t n = utf8_char_len(piece, i);
    if (n == 0) {  // a byte of a character split over tokens: shown as <E2>
      out += std::string("<") + hex[uint8_t(ch) >> 4] + hex[uint8_t(ch) & 15] + ">";
    } else if (ch == ' ') {
      out += "\xc2\xb7";  // ·
    } else if (ch == '\n') {
      out += "\xe2\x86\xb5";  // ↵
    } else if (ch == '\t') {
      out += "\xe2\x86\x92";  // →
    } else {
      out.append(piece.substr(i, n));
    }
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::string token_label(const Tokenizer& tok, int32_t id) { return token_label(token_piece(tok, id)); }

namespace {

probe::CapturePlan make_plan(const ModelConfig& c, const TraceOptions& o, size_t prompt_tokens, int n_ctx) {
  probe::CapturePlan p;
  p.layers = o.layers;
  if (p.layers.empty())
    for (int l = 0; l < c.n_layers; ++l) p.layers.push_back(l);
  p.heads = o.heads;
  p.attention_rows = o.attention;
  p.activation_stats = o.activations;
  p.logit_lens = o.logit_lens;
  p.max_context = n_ctx;
  p.max_queries = int(std::max<size_t>(prompt_tokens, 1));
  p.top_channels = o.top_channels;
  p.hist_bins = o.hist_bins;
  p.hist_range = o.hist_range;
  p.lens_top = o.lens_top;
  return p;
}

}  // namespace

TraceResult trace(Session& s, std::string_view prompt_text, const GenerateOptions& gen, const TraceOptions& opts,
                  const std::function<void(const TraceStep&)>& on_step) {
  DS_CHECK(s.n_past() == 0, "[trace] the session already holds ", s.n_past(), " tokens; trace starts fresh");
  const Model& model = s.model();
  const ModelConfig& c = model.config();
  const Tokenizer& tok = model.tokenizer();
  const std::vector<int32_t> prompt = tok.encode(prompt_text, gen.add_bos && tok.add_bos(), gen.parse_special);
  DS_CHECK(!prompt.empty(), "[trace] empty prompt (no tokens)");
  const probe::CapturePlan plan = make_plan(c, opts, prompt.size(), s.n_ctx());

  TraceResult r;
  r.layers = plan.layers;
  const probe::FrameLayout layout = probe::plan_frame(plan, c);  // validates before anything runs
  r.heads = layout.heads;
  AttentionRows rows;
  auto add_token = [&](TraceStep& step, int32_t id, double ms, bool is_prompt) {
    TracedToken t{int(r.tokens.size()), id, token_piece(tok, id), ms, is_prompt};
    r.tokens.push_back(t);
    step.tokens.push_back(std::move(t));
  };
  auto take = [&](TraceStep& step) {
    for (probe::Frame& f : s.take_frames()) {
      for (AttentionMap& m : f.maps) {
        for (int t = 0; t < m.n_queries; ++t)
          rows.add(m.layer, m.head, m.kind, m.query_begin + t,
                   std::span<const float>(m.probs).subspan(size_t(t) * size_t(m.n_keys), size_t(m.n_keys)));
        step.maps.push_back(std::move(m));
      }
      for (TokenActivations& a : f.activations) {
        r.activations.tokens.push_back(a);
        step.activations.push_back(std::move(a));
      }
    }
  };

  s.set_capture_plan(&plan, nullptr, 4);  // frames are taken after every pass
  try {
    r.generation = generate_tokens(s, prompt, gen, [&](const TokenEvent& ev) {
      if (ev.id < 0) return true;  // the tail of held-back text
      TraceStep step;
      if (ev.index == 0)
        for (int32_t id : prompt) add_token(step, id, ev.ms / double(prompt.size()), true);
      add_token(step, ev.id, ev.ms, false);
      take(step);
      if (on_step) on_step(step);
      return true;
    });
    TraceStep last;  // the pass that produced an end-of-generation token (not reported as a token)
    take(last);
    if (on_step && (!last.maps.empty() || !last.activations.empty())) on_step(last);
    DS_CHECK(s.frames_lost() == 0, "[trace] ", s.frames_lost(), " capture frames were lost");
  } catch (...) {
    s.set_capture_plan(nullptr);
    throw;
  }
  s.set_capture_plan(nullptr);

  // The snapshots: labels by position, one map per (layer, head) over all traced queries.
  const std::string name = model.path();
  r.attention.model = r.activations.model = name;
  r.attention.n_layers = c.n_layers;
  r.attention.n_heads = c.n_heads;
  for (int l = 0; l < c.n_layers; ++l) r.attention.layout.push_back(c.layer_kind(l));
  for (const TracedToken& t : r.tokens) r.attention.token_labels.push_back(token_label(t.piece));
  r.activations.token_labels = r.attention.token_labels;
  r.attention.maps = rows.maps();
  return r;
}

}  // namespace ds
