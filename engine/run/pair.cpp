// Pair: two sessions stepped in lockstep; the student's decode recording reads the teacher's logits,
// sampled token and capture ring (saved residuals, attention rows) of the same step.
#include "distilscope/pair.h"

#include <algorithm>
#include <chrono>

#include "distilscope/model.h"
#include "distilscope/sampling.h"
#include "distilscope/session.h"
#include "distilscope/tokenizer.h"
#include "distilscope/trace.h"
#include "probe/capture_plan.h"
#include "probe/graph_capture.h"
#include "util/error.h"

namespace ds {

namespace {
using Clock = std::chrono::steady_clock;

std::string shown(std::string_view piece) { return cat("'", piece, "'"); }
}  // namespace

void check_same_tokenizer(const Model& teacher, const Model& student) {
  const Tokenizer& a = teacher.tokenizer();
  const Tokenizer& b = student.tokenizer();
  auto differ = [&](const std::string& why) {
    fail("[pair] teacher ", teacher.path(), " and student ", student.path(), " do not share a tokenizer (", why,
         "); compare needs the same token ids to mean the same text");
  };
  if (a.model() != b.model()) differ(cat("a '", a.model(), "' and a '", b.model(), "' tokenizer"));
  if (a.vocab_size() != b.vocab_size() || teacher.config().vocab != student.config().vocab)
    differ(cat("vocabularies of ", a.vocab_size(), " and ", b.vocab_size(), " tokens, logits of ",
               teacher.config().vocab, " and ", student.config().vocab));
  for (int32_t id = 0; id < a.vocab_size(); ++id)
    if (a.piece(id) != b.piece(id)) differ(cat("token ", id, " is ", shown(a.piece(id)), " vs ", shown(b.piece(id))));
}

Pair::Pair(Model& teacher, Model& student, const PairOptions& opts)
    : teacher_(teacher), student_(student), opts_(opts) {
  check_same_tokenizer(teacher, student);
  const ModelConfig& t = teacher.config();
  const ModelConfig& s = student.config();
  if (opts.layer_cosine && t.n_layers == s.n_layers && t.d_model == s.d_model)
    for (int l = 0; l < s.n_layers; ++l) layers_.push_back(l);
  js_ = opts.attention_js && !layers_.empty() && t.n_heads == s.n_heads;
  for (int l : layers_)  // attention rows, or a mixer's implied attention, of every compared layer on both sides
    js_ = js_ && probe::rows_unsupported(t, l).empty() && probe::rows_unsupported(s, l).empty();
}

DivergenceSnapshot Pair::run(std::string_view prompt, int max_tokens, bool add_bos, const PairCallback& cb) {
  const Tokenizer& tok = teacher_.tokenizer();
  const auto ids = tok.encode(prompt, add_bos && tok.add_bos(), true);
  return run_tokens(ids, max_tokens, cb);
}

DivergenceSnapshot Pair::run_tokens(std::span<const int32_t> prompt, int max_tokens, const PairCallback& cb) {
  DS_CHECK(!prompt.empty(), "[pair] empty prompt (no tokens)");
  DS_CHECK(max_tokens >= 1, "[pair] max_tokens is ", max_tokens);
  const int n_ctx = opts_.n_ctx > 0 ? opts_.n_ctx : int(prompt.size()) + max_tokens;
  // Both sides on the per-op decode path (which capturing uses anyway): the same model gives the same logits.
  SessionOptions so{n_ctx};
  so.small_layers = false;
  Session teacher(teacher_, so);
  Session student(student_, so);

  // Teacher: its residuals (and attention rows) saved per step; student: the comparison and divergence.
  const uint32_t frames = 4;  // frames are taken every step
  probe::CapturePlan tp, sp;
  tp.layers = sp.layers = layers_;
  tp.attention_rows = sp.attention_rows = js_;
  tp.activation_stats = sp.activation_stats = false;
  tp.max_context = sp.max_context = n_ctx;
  tp.save_residual = true;
  sp.layer_compare = !layers_.empty();
  sp.divergence = true;
  sp.div_topk = opts_.div_topk;
  sp.div_top = opts_.div_top;
  if (!layers_.empty()) teacher.set_capture_plan(&tp, nullptr, frames);
  SamplerParams greedy;
  greedy.temperature = 0;
  teacher.set_sampling(greedy);
  probe::CaptureLinks links;
  links.partner = teacher.decode_ring();
  links.teacher_logits = teacher.decode_logits();
  links.tokens = teacher.sampled_token();
  student.set_capture_plan(&sp, &links, frames);

  DivergenceSnapshot snap;
  snap.teacher = teacher_.path();
  snap.student = student_.path();
  for (int l = 0; l < student_.config().n_layers; ++l) snap.student_layout.push_back(student_.config().layer_kind(l));
  const Tokenizer& tok = teacher_.tokenizer();
  for (int32_t id : prompt) snap.token_labels.push_back(token_label(tok, id));

  // The prompt but its last token without probes (batched), then one lockstep decode step per token.
  if (prompt.size() > 1) {
    teacher.prefill(prompt.first(prompt.size() - 1), false);
    student.prefill(prompt.first(prompt.size() - 1), false);
    teacher.take_frames();
    student.take_frames();
  }
  int32_t x = prompt.back();
  for (int i = 0; i < max_tokens && teacher.n_past() < n_ctx; ++i) {
    const auto t0 = Clock::now();
    const int32_t y = teacher.decode(x, true);
    student.decode(x, false);
    teacher.take_frames();
    auto got = student.take_frames();
    DS_CHECK(got.size() == 1 && got[0].divergence.size() == 1, "[pair] step ", i, ": no divergence frame read back");
    PairStep step;
    step.index = i;
    step.div = std::move(got[0].divergence[0]);
    if (layers_.empty()) step.div.layer_cosine.clear();
    if (!js_) step.div.layer_attn_js.clear();
    step.piece = token_piece(tok, y);
    step.ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    snap.tokens.push_back(step.div);
    snap.token_labels.push_back(token_label(step.piece));
    if (cb && !cb(step)) break;
    if (tok.is_end_of_generation(y)) break;
    x = y;
  }
  return snap;
}

}  // namespace ds
