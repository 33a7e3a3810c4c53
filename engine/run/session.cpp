// Session: KV cache (attention layers), mixer states (linear / Mamba layers), batched prefill (re-recorded
// per call) and a decode step recorded once.
#include "distilscope/session.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "model/arch_llama.h"
#include "model/hybrid_config.h"
#include "ops/attention.h"
#include "ops/matmul.h"
#include "probe/graph_capture.h"
#include "run/sampler.h"
#include "util/error.h"
#include "vk/memory.h"
#include "vk/recorder.h"
#include "vk/submit.h"

namespace ds {

// Probes of a session: a capture set for the decode step (1 query) and, when the plan captures prefill,
// one for batched passes; frames not yet taken (decode: by sequence number; prefill: parsed at once,
// since several passes of one prefill call would overrun its small ring).
struct Session::Probes {
  std::unique_ptr<probe::CaptureSet> decode, batch;
  std::unique_ptr<probe::MixerHistory> history;  // mixer layers with implied-attention rows, else null
  bool history_from_start = true;                // the history has seen every token since position 0
  probe::CaptureLinks links;
  struct Pending {
    uint32_t seq = 0;                   // decode ring frame, or 0
    std::unique_ptr<probe::Frame> frame;  // an already parsed prefill frame
  };
  std::vector<Pending> pending;
  uint64_t lost = 0;
};

Session::Session(Model& model, const SessionOptions& opts) : model_(model) {
  const ModelConfig& c = model.config();
  n_ctx_ = opts.n_ctx > 0 ? opts.n_ctx : std::min(c.context_train > 0 ? c.context_train : 2048, 4096);
  max_batch_ = std::clamp(opts.max_batch, 1, 4096);
  DS_CHECK(n_ctx_ >= 1 && n_ctx_ <= (1 << 20), "[session] context length ", n_ctx_, " is out of range (1 .. 1048576)");
  Device& dev = model.device();
  cache_arena_ = std::make_unique<vk::Arena>(dev, "kv cache", vk::MemoryKind::DeviceLocal);
  io_arena_ = std::make_unique<vk::Arena>(dev, "session inputs", vk::MemoryKind::Upload, 1 << 20);
  scratch_arena_ = std::make_unique<vk::Arena>(dev, "activations", vk::MemoryKind::DeviceLocal, 64ull << 20);
  state_arena_ = std::make_unique<vk::Arena>(dev, "mixer states", vk::MemoryKind::DeviceLocal, 1 << 20);
  k_cache_.resize(size_t(c.n_layers));
  v_cache_.resize(size_t(c.n_layers));
  lin_state_.resize(size_t(c.n_layers));
  ssm_state_.resize(size_t(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l);
    switch (c.layer_kind(l)) {
      case LayerKind::Attention: {
        std::array<int64_t, 4> ne{c.head_dim, n_ctx_, c.n_kv_heads, 1};
        k_cache_[l] = make_tensor(*cache_arena_, DType::F16, ne, p + ".cache_k");
        v_cache_[l] = make_tensor(*cache_arena_, DType::F16, ne, p + ".cache_v");
        break;
      }
      case LayerKind::Linear: lin_state_[l] = ops::make_linear_mixer_state(*state_arena_, linear_mixer_shape(c), p); break;
      case LayerKind::Mamba: ssm_state_[l] = ops::make_mamba_state(*state_arena_, mamba_dims(c), p + ".ssm_state"); break;
    }
  }
  sampler_arena_ = std::make_unique<vk::Arena>(dev, "sampler", vk::MemoryKind::DeviceLocal, 1 << 20);
  decode_ = allocate(1, false);
  const char* no_small = std::getenv("DS_NO_SMALL_LAYER");
  // One workgroup per layer only pays where dispatches are dear and parallelism is cheap to give up: CPU
  // devices (lavapipe). On the H200 a 5-layer d_model 64 model decodes in 0.62 ms/token with it and 0.18 ms
  // without (docs/performance.md); DS_SMALL_LAYER_ANY_DEVICE=1 uses it on any device (tests, measurements).
  const char* any_device = std::getenv("DS_SMALL_LAYER_ANY_DEVICE");
  const bool cpu_device = dev.info().type == "cpu" || (any_device && *any_device && std::string(any_device) != "0");
  small_layers_ = opts.small_layers && cpu_device && !(no_small && *no_small && std::string(no_small) != "0");
  // DS_NO_DECODE_FUSION: "rope" or "combine" turns off that fusion only, any other value but "0" both.
  const std::string no_fusion = std::getenv("DS_NO_DECODE_FUSION") ? std::getenv("DS_NO_DECODE_FUSION") : "";
  const bool all_off = !no_fusion.empty() && no_fusion != "0" && no_fusion != "rope" && no_fusion != "combine";
  decode_->fuse_rope_store = opts.fuse_decode && !all_off && no_fusion != "rope";
  const char* combine_env = std::getenv("DS_DECODE_FUSE_COMBINE");
  const bool combine = opts.fuse_combine || (combine_env && *combine_env && std::string(combine_env) != "0");
  decode_->fuse_combine = opts.fuse_decode && combine && !all_off && no_fusion != "combine";
  decode_rec_ = std::make_unique<vk::Recording>(dev);
  batch_rec_ = std::make_unique<vk::Recording>(dev);
  if (dev.profiling()) {
    decode_prof_ = std::make_unique<vk::Profiler>(dev);
    batch_prof_ = std::make_unique<vk::Profiler>(dev);
  }
  zero_states();
  record_decode(false);  // compiles the decode pipelines now rather than in the first token's time
}

void Session::zero_states() {
  if (!model_.config().hybrid.is_hybrid()) return;
  vk::OneShot once(model_.device());
  vk::Recorder rec(model_.device(), once.cmd());
  for (const auto& s : lin_state_)
    if (s.s) ops::linear_mixer_reset(rec, s);
  for (const auto& s : ssm_state_)
    if (s.conv) ops::mamba_state_reset(rec, s);
  once.submit_and_wait();
}

Session::~Session() {
  // Recordings wait for their pending submits before freeing the command buffers.
  decode_rec_.reset();
  decode_lead_.clear();
  batch_rec_.reset();
}

namespace {
// Batches of up to max_cols rows go to the mat-vec kernel, which reads x in F32 exactly: they stay F32.
bool half_rows(const Device& dev, int rows) { return rows > int(ops::default_matvec_config(dev).max_cols); }

// Prefill matmuls read F16 activations where they run on tensor cores (which round x to F16 anyway): devices
// with VK_NV_cooperative_matrix and a model whose feed-forward weights are not F32 (F32 weights keep the exact
// F32 kernels). DS_HALF_INPUTS=0|1 overrides (A/B measurements; tests of the F16 path on other devices); it is
// read when batch buffers are allocated (the first prefill of each kind).
bool half_matmul_inputs(const Model& model) {
  if (const char* e = std::getenv("DS_HALF_INPUTS"); e && *e) return std::string(e) != "0";
  const auto& layers = model.weights().layers;
  if (layers.empty()) return false;
  const Tensor& w = layers[0].w_gate ? layers[0].w_gate : layers[0].w_down;
  return model.device().has_coopmat_nv() && w && w.type != DType::F32;
}
}  // namespace

std::unique_ptr<ForwardBuffers> Session::allocate(int rows, bool all_logits) {
  const ModelConfig& c = model_.config();
  auto b = std::make_unique<ForwardBuffers>();
  auto& A = *scratch_arena_;
  const int64_t n = rows, n_out = all_logits ? rows : 1;
  b->n_tokens = rows;
  b->all_logits = all_logits;
  b->ids = make_tensor(*io_arena_, DType::I32, {n, 1, 1, 1}, "ids");
  b->positions = make_tensor(*io_arena_, DType::I32, {n, 1, 1, 1}, "positions");
  b->step = make_tensor(*io_arena_, DType::I32, {4, 1, 1, 1}, "step");
  b->x = make_tensor(A, DType::F32, {c.d_model, n, 1, 1}, "x");
  b->xn = make_tensor(A, DType::F32, {c.d_model, n, 1, 1}, "xn");
  if (half_rows(model_.device(), rows) && half_matmul_inputs(model_)) {
    b->xn_half = make_tensor(A, DType::F16, {c.d_model, n, 1, 1}, "xn_half");
    b->gate_half = make_tensor(A, DType::F16, {c.ffn_dim, n, 1, 1}, "gate_half");
    b->attn_half = make_tensor(A, DType::F16, {c.head_dim, c.n_heads, n, 1}, "attn_half");
  }
  // q, k, v back to back (one [q_dim + 2 kv_dim] column per token when rows == 1: the fused QKV output),
  // gate and up likewise, when the views land on binding-aligned offsets; else separate tensors.
  const uint64_t align = model_.device().props().limits.minStorageBufferOffsetAlignment;
  auto aligned = [&](int64_t floats) { return (uint64_t(floats) * 4) % align == 0; };
  if (aligned(int64_t(c.q_dim()) * n) && aligned(int64_t(c.q_dim() + c.kv_dim()) * n)) {
    b->qkv = make_tensor(A, DType::F32, {c.q_dim() + 2 * c.kv_dim(), n, 1, 1}, "qkv");
    b->q = sub_tensor(b->qkv, 0, {c.head_dim, c.n_heads, n, 1}, "q");
    b->k = sub_tensor(b->qkv, int64_t(c.q_dim()) * n, {c.head_dim, c.n_kv_heads, n, 1}, "k");
    b->v = sub_tensor(b->qkv, int64_t(c.q_dim() + c.kv_dim()) * n, {c.head_dim, c.n_kv_heads, n, 1}, "v");
  } else {
    b->q = make_tensor(A, DType::F32, {c.head_dim, c.n_heads, n, 1}, "q");
    b->k = make_tensor(A, DType::F32, {c.head_dim, c.n_kv_heads, n, 1}, "k");
    b->v = make_tensor(A, DType::F32, {c.head_dim, c.n_kv_heads, n, 1}, "v");
  }
  b->attn = make_tensor(A, DType::F32, {c.head_dim, c.n_heads, n, 1}, "attn");
  if (aligned(int64_t(c.ffn_dim) * n)) {
    b->gate_up = make_tensor(A, DType::F32, {2 * int64_t(c.ffn_dim), n, 1, 1}, "gate_up");
    b->gate = sub_tensor(b->gate_up, 0, {c.ffn_dim, n, 1, 1}, "gate");
    b->up = sub_tensor(b->gate_up, int64_t(c.ffn_dim) * n, {c.ffn_dim, n, 1, 1}, "up");
  } else {
    b->gate = make_tensor(A, DType::F32, {c.ffn_dim, n, 1, 1}, "gate");
    b->up = make_tensor(A, DType::F32, {c.ffn_dim, n, 1, 1}, "up");
  }
  const HybridConfig& h = c.hybrid;
  if (h.count(LayerKind::Mamba)) {
    b->zxbc = make_tensor(A, DType::F32, {2 * int64_t(h.d_inner) + 2 * h.d_xb, n, 1, 1}, "zxbc");
    b->dt_low = make_tensor(A, DType::F32, {h.dt_rank, n, 1, 1}, "dt_low");
    b->dt = make_tensor(A, DType::F32, {h.d_inner, n, 1, 1}, "dt");
    b->ssm_y = make_tensor(A, DType::F32, {h.d_inner, n, 1, 1}, "ssm_y");
  }
  // One workspace for whichever of attention / linear mixer / Mamba scan runs (they run one after another).
  size_t scratch = 4;
  if (h.layers.empty() || h.count(LayerKind::Attention))
    scratch = std::max(scratch, ops::attention_scratch_elems(c.n_heads, c.head_dim, n_ctx_, rows));
  if (h.count(LayerKind::Linear))
    scratch = std::max(scratch, ops::linear_mixer_scratch_elems(linear_mixer_shape(c), rows));
  if (h.count(LayerKind::Mamba)) scratch = std::max(scratch, ops::mamba_scratch_elems(mamba_dims(c), rows));
  // Split-K of the down projection on tensor cores (ops::coopmat_split_k) uses it too.
  if (rows > 1 && model_.device().has_coopmat_nv())
    scratch = std::max(scratch, ops::matmul_split_elems(c.ffn_dim, c.d_model, rows));
  b->scratch = make_tensor(A, DType::F32, {int64_t(scratch), 1, 1, 1}, "attn_scratch");
  b->out_norm = make_tensor(A, DType::F32, {c.d_model, n_out, 1, 1}, "out_norm");
  b->logits = make_tensor(A, DType::F32, {c.vocab, n_out, 1, 1}, "logits");
  b->k_cache = k_cache_;
  b->v_cache = v_cache_;
  b->lin_state = lin_state_;
  b->ssm_state = ssm_state_;
  return b;
}

namespace {
// The first n rows of every per-token activation of `full`.
ForwardBuffers view_rows(const Device& dev, const ForwardBuffers& full, int n) {
  ForwardBuffers b = full;
  b.n_tokens = n;
  auto rows = [n](const Tensor& t, std::array<int64_t, 4> ne) {
    Tensor v = t;
    v.ne = ne;
    v.buf = t.buf.sub(0, v.n_bytes());
    return v;
  };
  b.ids = rows(full.ids, {n, 1, 1, 1});
  b.positions = rows(full.positions, {n, 1, 1, 1});
  b.x = rows(full.x, {full.x.ne[0], n, 1, 1});
  b.xn = rows(full.xn, {full.xn.ne[0], n, 1, 1});
  b.xn_half = b.gate_half = b.attn_half = {};
  if (full.xn_half && half_rows(dev, n)) {
    b.xn_half = rows(full.xn_half, {full.xn_half.ne[0], n, 1, 1});
    b.gate_half = rows(full.gate_half, {full.gate_half.ne[0], n, 1, 1});
    b.attn_half = rows(full.attn_half, {full.attn_half.ne[0], full.attn_half.ne[1], n, 1});
  }
  b.q = rows(full.q, {full.q.ne[0], full.q.ne[1], n, 1});
  b.k = rows(full.k, {full.k.ne[0], full.k.ne[1], n, 1});
  b.v = rows(full.v, {full.v.ne[0], full.v.ne[1], n, 1});
  b.attn = rows(full.attn, {full.attn.ne[0], full.attn.ne[1], n, 1});
  b.qkv = {};  // the fused decode forms are for single-token buffers only
  b.gate_up = {};
  b.gate = rows(full.gate, {full.gate.ne[0], n, 1, 1});
  b.up = rows(full.up, {full.up.ne[0], n, 1, 1});
  if (full.zxbc) {
    b.zxbc = rows(full.zxbc, {full.zxbc.ne[0], n, 1, 1});
    b.dt_low = rows(full.dt_low, {full.dt_low.ne[0], n, 1, 1});
    b.dt = rows(full.dt, {full.dt.ne[0], n, 1, 1});
    b.ssm_y = rows(full.ssm_y, {full.ssm_y.ne[0], n, 1, 1});
  }
  if (full.all_logits) {
    b.out_norm = rows(full.out_norm, {full.out_norm.ne[0], n, 1, 1});
    b.logits = rows(full.logits, {full.logits.ne[0], n, 1, 1});
  }
  return b;
}
}  // namespace

void Session::reset() {
  n_past_ = 0;
  if (probes_) probes_->history_from_start = true;
  zero_states();
}

Sampler& Session::sampler() {
  if (!sampler_) sampler_ = std::make_unique<Sampler>(model_.device(), *sampler_arena_, model_.config().vocab, SamplerParams{});
  return *sampler_;
}

void Session::set_sampling(const SamplerParams& params) {
  if (sampler().set_params(params)) decode_recorded_ = false;
}

void Session::check_room(size_t n_tokens) const {
  if (size_t(n_past_) + n_tokens > size_t(n_ctx_))
    fail("[session] ", n_tokens, " tokens at position ", n_past_, " would exceed the context of ", n_ctx_,
         " tokens (", n_ctx_ - n_past_, " left); start a new session or use a longer context");
}

void Session::write_inputs(const ForwardBuffers& b, std::span<const int32_t> tokens) {
  const int vocab = model_.config().vocab;
  auto* ids = reinterpret_cast<int32_t*>(b.ids.buf.mapped);
  auto* pos = reinterpret_cast<int32_t*>(b.positions.buf.mapped);
  auto* step = reinterpret_cast<int32_t*>(b.step.buf.mapped);
  DS_CHECK(ids && pos && step, "[session] input buffers are not host-visible");
  for (size_t t = 0; t < tokens.size(); ++t) {
    DS_CHECK(tokens[t] >= 0 && tokens[t] < vocab, "[session] token id ", tokens[t], " at index ", t,
             " is outside the vocabulary of ", vocab);
    ids[t] = tokens[t];
    pos[t] = n_past_ + int32_t(t);
  }
  step[0] = n_past_;
  step[1] = int32_t(tokens.size());
  step[2] = step[3] = 0;
}

int32_t Session::run_batch(std::span<const int32_t> tokens, bool sample, bool all_logits) {
  Sampler* sampler = sample ? &this->sampler() : nullptr;
  auto& store = all_logits ? batch_all_ : batch_;
  if (!store) store = allocate(max_batch_, all_logits);
  ForwardBuffers b = view_rows(model_.device(), *store, int(tokens.size()));
  write_inputs(b, tokens);
  Graph g = build_llama_graph(model_.config(), model_.weights(), b);
  probe::CaptureSet* capture = probes_ ? probes_->batch.get() : nullptr;
  const probe::MixerHistory* history = check_history();
  if (capture) g = probe::insert_captures(g, *capture, probes_->links, history);
  else if (history) g = probe::insert_history(g, *history);
  batch_rec_->begin();
  if (batch_prof_) batch_prof_->reset(batch_rec_->cmd(), uint32_t(g.nodes().size() + 16));
  vk::Recorder rec(model_.device(), batch_rec_->cmd(), batch_prof_.get());
  g.record(rec);
  if (sampler) {
    rec.barrier();
    sampler->record(rec, b.logits.rows_view(b.logits.rows() - 1, 1));
  }
  batch_rec_->end();
  if (sampler) sampler->prepare_step();
  const uint32_t seq = capture ? capture->ring().begin_step() : 0;
  batch_rec_->submit_and_wait();
  if (capture) {
    auto frame = capture->ring().frame(seq);
    DS_CHECK(frame, "[session] the prefill capture frame ", seq, " could not be read back");
    probes_->pending.push_back({0, std::make_unique<probe::Frame>(std::move(*frame))});
  }
  n_past_ += int(tokens.size());
  last_ = store.get();
  last_rows_ = all_logits ? int(tokens.size()) : 1;
  last_prof_ = batch_prof_.get();
  return sampler ? sampler->token() : -1;
}

void Session::record_decode(bool sample) {
  Sampler* sampler = sample ? &this->sampler() : nullptr;
  decode_->small_layers = small_layers_ && !probes_;  // probes need the per-op tensors
  Graph g = build_llama_graph(model_.config(), model_.weights(), *decode_);
  if (probes_) g = probe::insert_captures(g, *probes_->decode, probes_->links, probes_->history.get());
  // Chunks (a UI sharing the queue: submit_decode): all but the last in decode_lead_.
  const size_t n_nodes = g.nodes().size(), chunks = size_t(decode_chunks());
  auto chunk_start = [&](size_t i) { return n_nodes * i / chunks; };
  decode_lead_.resize(chunks - 1);
  for (size_t i = 0; i + 1 < chunks; ++i) {
    if (!decode_lead_[i]) decode_lead_[i] = std::make_unique<vk::Recording>(model_.device());
    decode_lead_[i]->begin();
    vk::Recorder lead(model_.device(), decode_lead_[i]->cmd());
    if (i > 0) lead.barrier();  // after the chunks submitted before it (submission order)
    g.record(lead, chunk_start(i), chunk_start(i + 1));
    decode_lead_[i]->end();
  }
  decode_rec_->begin();
  if (decode_prof_) decode_prof_->reset(decode_rec_->cmd(), uint32_t(g.nodes().size() + 16));
  vk::Recorder rec(model_.device(), decode_rec_->cmd(), decode_prof_.get());
  if (chunks > 1) rec.barrier();
  g.record(rec, chunk_start(chunks - 1), n_nodes);
  if (sampler) {
    rec.barrier();
    sampler->record(rec, decode_->logits);
  }
  decode_rec_->end();
  decode_recorded_ = true;
  decode_samples_ = sample;
}

int32_t Session::run_decode(int32_t token, bool sample) {
  Sampler* sampler = sample ? &this->sampler() : nullptr;
  if (!decode_recorded_ || decode_samples_ != sample) record_decode(sample);
  check_history();
  int32_t one[1] = {token};
  write_inputs(*decode_, one);
  if (sampler) sampler->prepare_step();
  if (probes_) probes_->pending.push_back({probes_->decode->ring().begin_step(), nullptr});
  submit_decode();
  n_past_ += 1;
  last_ = decode_.get();
  last_rows_ = 1;
  last_prof_ = decode_prof_.get();
  return sampler ? sampler->token() : -1;
}

// Chunks of a decode step: 1 (one submit) unless a UI takes turns at this queue; DS_DECODE_CHUNKS overrides
// the default of 12 there. Profiling keeps one chunk (its timestamps live in one command buffer).
int Session::decode_chunks() const {
  Device& dev = model_.device();
  if (!dev.queue_turns().enabled() || decode_prof_) return 1;
  const char* env = std::getenv("DS_DECODE_CHUNKS");
  return std::clamp(env && *env ? std::atoi(env) : 12, 1, 64);
}

// Submits the chunks one after the other, each waited for before the next, so a frame that claims the
// queue meanwhile (QueueTurns) draws after at most one chunk and this step goes on after it. (lavapipe runs
// a submit's work when its fence is waited for, so waiting per chunk costs next to nothing there.)
void Session::submit_decode() {
  for (auto& lead : decode_lead_) lead->submit_and_wait();
  decode_rec_->submit_and_wait();
}

int32_t Session::prefill(std::span<const int32_t> tokens, bool sample) {
  DS_CHECK(!tokens.empty(), "[session] prefill of an empty token list");
  check_room(tokens.size());
  int32_t next = -1;
  for (size_t i = 0; i < tokens.size(); i += size_t(max_batch_)) {
    auto part = tokens.subspan(i, std::min(tokens.size() - i, size_t(max_batch_)));
    bool last_part = i + part.size() == tokens.size();
    next = part.size() == 1 ? run_decode(part[0], last_part && sample) : run_batch(part, last_part && sample, false);
  }
  return next;
}

int32_t Session::decode(int32_t token, bool sample) {
  check_room(1);
  return run_decode(token, sample);
}

std::vector<std::vector<float>> Session::forward_all(std::span<const int32_t> tokens) {
  DS_CHECK(!tokens.empty(), "[session] forward of an empty token list");
  check_room(tokens.size());
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < tokens.size(); i += size_t(max_batch_)) {
    auto part = tokens.subspan(i, std::min(tokens.size() - i, size_t(max_batch_)));
    run_batch(part, false, true);
    auto all = download_f32(model_.device(), batch_all_->logits.rows_view(0, int64_t(part.size())));
    const size_t V = size_t(model_.config().vocab);
    for (size_t t = 0; t < part.size(); ++t) out.emplace_back(all.begin() + t * V, all.begin() + (t + 1) * V);
  }
  return out;
}

std::vector<float> Session::logits() const {
  DS_CHECK(last_, "[session] no forward pass has run yet");
  return download_f32(model_.device(), last_->logits.rows_view(last_rows_ - 1, 1));
}

void Session::set_capture_plan(const probe::CapturePlan* plan, const probe::CaptureLinks* links,
                               uint32_t ring_frames) {
  decode_rec_->wait();  // the old rings may still be in use by a pending decode submit
  for (auto& r : decode_lead_) r->wait();
  decode_recorded_ = false;
  probes_.reset();
  if (!plan) return;
  const ModelConfig& c = model_.config();
  const ModelWeights& w = model_.weights();
  const probe::LensWeights lens{w.output_norm, w.output, c.norm_eps};
  probe::CapturePlan p = *plan;
  p.max_context = std::min(p.max_context, n_ctx_);
  auto probes = std::make_unique<Probes>();
  if (links) probes->links = *links;
  if (p.max_queries > 1) {
    p.max_queries = std::min(p.max_queries, max_batch_);
    probes->batch = std::make_unique<probe::CaptureSet>(model_.device(), probe::plan_frame(p, c), *scratch_arena_,
                                                        n_ctx_, max_batch_, lens, probe::RingOptions{2});
  }
  p.max_queries = 1;
  const probe::FrameLayout layout = probe::plan_frame(p, c);
  probes->decode = std::make_unique<probe::CaptureSet>(model_.device(), layout, *scratch_arena_, n_ctx_, 1, lens,
                                                       probe::RingOptions{ring_frames});
  probes->history = std::make_unique<probe::MixerHistory>(*scratch_arena_, layout, c, n_ctx_);
  if (probes->history->empty()) probes->history.reset();
  probes->history_from_start = n_past_ == 0;
  probes_ = std::move(probes);
}

const probe::MixerHistory* Session::check_history() const {
  if (!probes_ || !probes_->history) return nullptr;
  DS_CHECK(probes_->history_from_start, "[session] the capture plan records the implied attention of mixer layers, "
           "which needs every token from position 0, but it was set after position 0 (now at ", n_past_, ")"
           "; set the plan before the first token or reset() the session");
  return probes_->history.get();
}

std::vector<probe::Frame> Session::take_frames() {
  std::vector<probe::Frame> out;
  if (!probes_) return out;
  for (auto& p : probes_->pending) {
    if (p.frame) {
      out.push_back(std::move(*p.frame));
    } else if (auto f = probes_->decode->ring().frame(p.seq)) {
      out.push_back(std::move(*f));
    } else {
      probes_->lost++;
    }
  }
  probes_->pending.clear();
  return out;
}

uint64_t Session::frames_lost() const { return probes_ ? probes_->lost : 0; }

const probe::Ring* Session::decode_ring() const { return probes_ ? &probes_->decode->ring() : nullptr; }

const Tensor& Session::decode_logits() const { return decode_->logits; }

const Tensor& Session::sampled_token() { return sampler().token_tensor(); }

uint64_t Session::kv_bytes() const { return cache_arena_->used(); }
uint64_t Session::state_bytes() const { return state_arena_->used(); }

std::vector<vk::OpTiming> Session::last_timings() const {
  return last_prof_ ? last_prof_->read() : std::vector<vk::OpTiming>{};
}

}  // namespace ds
