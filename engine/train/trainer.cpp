// Trainer: recorded training step, gradient accumulation, evaluation (see trainer.h).
#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "distilscope/device.h"
#include "util/error.h"
#include "vk/memory.h"
#include "vk/recorder.h"
#include "vk/submit.h"

namespace ds::train {
namespace {

// The largest divisor of batch_seqs whose activations fit the budget and whose largest tensor fits one
// storage-buffer binding.
int pick_micro_batch(const Device& dev, const TrainerOptions& o) {
  const uint64_t range = dev.props().limits.maxStorageBufferRange;
  uint64_t budget = o.memory_budget;
  if (!budget) budget = std::min<uint64_t>(dev.info().device_local_bytes / 2, 32ull << 30);
  const bool teacher = o.teacher.n_layers > 0;
  const LoraSpec none;
  const LoraSpec& lora = o.train == TrainGroup::Lora ? o.lora : none;
  auto bytes = [&](int s) {
    return llama_activation_bytes(o.model, s, o.seq_len, true) + lora_activation_bytes(o.model, lora, s, o.seq_len) +
           (teacher ? llama_activation_bytes(o.teacher, s, o.seq_len, false) : 0);
  };
  for (int s = o.batch_seqs; s >= 1; --s) {
    if (o.batch_seqs % s) continue;
    if (bytes(s) <= budget && llama_largest_activation(o.model, s, o.seq_len) <= range &&
        (!teacher || llama_largest_activation(o.teacher, s, o.seq_len) <= range))
      return s;
  }
  fail("[train] one sequence of ", o.seq_len, " tokens needs ", format_bytes(double(bytes(1))),
       " of activations (budget ",
       format_bytes(double(budget)), ") or a tensor over the device's binding range of ", format_bytes(double(range)));
}

}  // namespace

double EvalStats::perplexity() const { return std::exp(loss); }

Trainer::Trainer(Device& dev, const TrainerOptions& options) : dev_(dev), o_(options) {
  DS_CHECK(o_.seq_len >= 1 && o_.batch_seqs >= 1, "[train] seq_len ", o_.seq_len, " and batch_seqs ", o_.batch_seqs,
           " must be positive");
  mb_seqs_ = o_.micro_batch_seqs ? o_.micro_batch_seqs : pick_micro_batch(dev, o_);
  DS_CHECK(o_.batch_seqs % mb_seqs_ == 0, "[train] micro-batch of ", mb_seqs_,
           " sequences does not divide the batch of ", o_.batch_seqs);
  const int n_micro = micro_batches();
  const int64_t M = int64_t(mb_seqs_) * o_.seq_len, rows = int64_t(o_.batch_seqs) * o_.seq_len;

  weights_arena_ = std::make_unique<vk::Arena>(dev, "train weights", vk::MemoryKind::DeviceLocal);
  act_arena_ = std::make_unique<vk::Arena>(dev, "train activations", vk::MemoryKind::DeviceLocal);
  io_arena_ = std::make_unique<vk::Arena>(dev, "train inputs", vk::MemoryKind::Upload, 4ull << 20);
  readback_arena_ = std::make_unique<vk::Arena>(dev, "train losses", vk::MemoryKind::Readback, 1ull << 20);

  LlamaParams::Trainable trainable;
  LoraSpec lora;
  const ModelConfig mc = o_.model;
  if (o_.train == TrainGroup::Mixers) {
    DS_CHECK(mc.hybrid.is_hybrid(), "[train] training the mixers only needs a student with converted layers; ",
             mc.name.empty() ? "the model" : mc.name, " has ", mc.n_layers, " attention layers");
  }
  if (o_.train == TrainGroup::Lora) {
    DS_CHECK(o_.lora.rank > 0 && !o_.lora.targets.empty(), "[train] LoRA training needs a rank > 0 (got ",
             o_.lora.rank, ") and at least one target projection");
    lora = o_.lora;
  }
  if (o_.train != TrainGroup::All)
    trainable = [mc](const std::string& name) { return LlamaParams::is_mixer_tensor(mc, name); };
  params_ = std::make_unique<LlamaParams>(dev, *weights_arena_, o_.model, o_.weights, trainable, lora);
  DS_CHECK(params_->n_trainable() > 0, "[train] nothing to train: no mixers and no LoRA adapter in ",
           mc.name.empty() ? "the model" : mc.name);
  opt_ = std::make_unique<AdamW>(dev, *weights_arena_, params_->groups(o_.weight_decay), o_.adamw);
  objective_ = std::make_unique<Objective>(*readback_arena_, *act_arena_, o_.losses, M, n_micro);
  acts_ = allocate_llama_activations(dev, *act_arena_, o_.model, mb_seqs_, o_.seq_len, true,
                                     objective_->needs_separate_logits_grad(), params_.get());
  act_bytes_ = llama_activation_bytes(o_.model, mb_seqs_, o_.seq_len, true) +
               lora_activation_bytes(o_.model, lora, mb_seqs_, o_.seq_len);
  const bool needs_teacher = std::any_of(o_.losses.begin(), o_.losses.end(),
                                         [](const LossTerm& t) { return t.kind != LossTerm::CrossEntropy; });
  DS_CHECK(!needs_teacher || o_.teacher.n_layers > 0, "[train] KL and hidden-state losses need a teacher");
  if (o_.teacher.n_layers > 0) {
    const ModelConfig& t = o_.teacher;
    DS_CHECK(t.vocab == o_.model.vocab, "[train] the teacher's vocabulary has ", t.vocab, " tokens, the student's ",
             o_.model.vocab);
    for (const LossTerm& term : o_.losses)
      DS_CHECK(term.kind != LossTerm::HiddenMse || (term.layer < t.n_layers && term.layer < o_.model.n_layers &&
                                                    t.d_model == o_.model.d_model),
               "[train] hidden-state loss at layer ", term.layer, ": the teacher has ", t.n_layers, " layers of ",
               t.d_model, ", the student ", o_.model.n_layers, " of ", o_.model.d_model);
    teacher_ = std::make_unique<LlamaParams>(dev, *weights_arena_, t, o_.weights,
                                             [](const std::string&) { return false; });
    teacher_acts_ = allocate_llama_activations(dev, *act_arena_, t, mb_seqs_, o_.seq_len, false, false);
    act_bytes_ += llama_activation_bytes(t, mb_seqs_, o_.seq_len, false);
    signals_.logits = teacher_acts_.logits;
    for (int l = 0; l < t.n_layers; ++l)
      signals_.hidden.push_back(l + 1 < t.n_layers ? teacher_acts_.layers[size_t(l) + 1].x : teacher_acts_.x_out);
  }
  ids_host_ = make_tensor(*io_arena_, DType::I32, {rows, 1, 1, 1}, "ids.host");
  targets_host_ = make_tensor(*io_arena_, DType::I32, {rows, 1, 1, 1}, "targets.host");
  DS_CHECK(ids_host_.buf.mapped && targets_host_.buf.mapped, "[train] input buffers are not host-visible");
  ids_ = make_tensor(*act_arena_, DType::I32, {rows, 1, 1, 1}, "ids");
  targets_ = make_tensor(*act_arena_, DType::I32, {rows, 1, 1, 1}, "targets");
  for (int m = 0; m < n_micro; ++m) {
    BatchInputs in;
    in.ids = sub_tensor(ids_, m * M, {M, 1, 1, 1}, "ids." + std::to_string(m));
    in.targets = sub_tensor(targets_, m * M, {M, 1, 1, 1}, "targets." + std::to_string(m));
    graphs_.push_back(build_llama_train_graph(*params_, acts_, in, objective_.get(), m, signals_));
    if (teacher_) teacher_graphs_.push_back(build_llama_train_graph(*teacher_, teacher_acts_, in, nullptr, m));
  }
}

Trainer::~Trainer() = default;

LlamaParams& Trainer::teacher() {
  DS_CHECK(teacher_, "[train] this trainer has no teacher");
  return *teacher_;
}

double DistillEvalStats::perplexity() const { return std::exp(ce); }

void Trainer::record(vk::Recording& recording, bool backward, bool optimizer_step, int n_micro, bool logits_only) {
  recording.begin();
  vk::Profiler* prof = nullptr;
  if (optimizer_step && dev_.profiling()) {
    step_prof_ = std::make_unique<vk::Profiler>(dev_);
    size_t nodes = 0;
    for (const TrainGraph& g : graphs_) nodes += g.nodes().size();
    prof = step_prof_.get();
    prof->reset(recording.cmd(), uint32_t(8 * nodes + 4 * params_->all().size() + 64));
  }
  vk::Recorder rec(dev_, recording.cmd(), prof);
  rec.barrier();  // the previous submit's writes (parameters, moments) before anything reads them
  const int64_t n = int64_t(n_micro) * mb_seqs_ * o_.seq_len;
  rec.copy(sub_tensor(ids_host_, 0, {n, 1, 1, 1}, "ids").buf, sub_tensor(ids_, 0, {n, 1, 1, 1}, "ids").buf);
  rec.copy(sub_tensor(targets_host_, 0, {n, 1, 1, 1}, "t").buf, sub_tensor(targets_, 0, {n, 1, 1, 1}, "t").buf);
  if (backward)
    for (const TrainParam& p : params_->all())
      if (p.grad) rec.fill(p.grad.buf.sub(0, p.grad.n_bytes()), 0);
  for (int m = 0; m < n_micro; ++m) {
    if (teacher_) teacher_graphs_[size_t(m)].record_forward(rec);
    graphs_[size_t(m)].record_forward(rec, logits_only ? "loss" : "");
    if (backward) graphs_[size_t(m)].record_backward(rec);
  }
  if (optimizer_step) opt_->record_step(rec);
  recording.end();
}

TokenBatch gather_batch(const PackedSequences& data, std::span<const size_t> seqs) {
  TokenBatch b;
  for (size_t i : seqs) {
    DS_CHECK(i < data.size(), "[train] sequence ", i, " of ", data.size());
    const auto in = data.inputs(i), tg = data.targets(i);
    b.ids.insert(b.ids.end(), in.begin(), in.end());
    b.targets.insert(b.targets.end(), tg.begin(), tg.end());
  }
  return b;
}

void Trainer::write_inputs(const TokenBatch& batch, size_t n_seqs) {
  const size_t T = size_t(o_.seq_len), n = batch.ids.size();
  DS_CHECK(n == batch.targets.size() && n % T == 0 && n <= n_seqs * T, "[train] a batch of ", n, " ids and ",
           batch.targets.size(), " targets for at most ", n_seqs, " sequences of ", T, " tokens");
  const int vocab = o_.model.vocab;
  for (size_t i = 0; i < n; ++i)
    DS_CHECK(batch.ids[i] >= 0 && batch.ids[i] < vocab && batch.targets[i] < vocab, "[train] token id ", batch.ids[i],
             " or target ", batch.targets[i], " at ", i, " is outside the vocabulary of ", vocab);
  auto* ids = reinterpret_cast<int32_t*>(ids_host_.buf.mapped);
  auto* targets = reinterpret_cast<int32_t*>(targets_host_.buf.mapped);
  std::memcpy(ids, batch.ids.data(), n * 4);
  std::memcpy(targets, batch.targets.data(), n * 4);
  std::fill(ids + n, ids + n_seqs * T, 0);  // padding rows of a partial evaluation chunk: ignored targets
  std::fill(targets + n, targets + n_seqs * T, -1);
}

StepStats Trainer::read_stats(int n_micro) const {
  StepStats s;
  const auto& terms = objective_->terms();
  s.terms.assign(terms.size(), 0.0);
  std::vector<double> counts(terms.size(), 0.0);
  for (int m = 0; m < n_micro; ++m)
    for (size_t t = 0; t < terms.size(); ++t) {
      float v[2];
      std::memcpy(v, objective_->value(m, t).buf.mapped, sizeof v);
      s.terms[t] += double(v[0]) * double(v[1]);
      counts[t] += double(v[1]);
    }
  for (size_t t = 0; t < terms.size(); ++t) {
    s.terms[t] = counts[t] > 0 ? s.terms[t] / counts[t] : 0.0;
    s.loss += double(terms[t].weight) * s.terms[t];
  }
  return s;
}

StepStats Trainer::step(const TokenBatch& batch, float lr) {
  DS_CHECK(batch.ids.size() == size_t(o_.batch_seqs) * size_t(o_.seq_len), "[train] a step takes ", o_.batch_seqs,
           " sequences of ", o_.seq_len, " tokens, got ", batch.ids.size(), " tokens");
  if (!step_rec_) {
    step_rec_ = std::make_unique<vk::Recording>(dev_);
    record(*step_rec_, true, true, micro_batches());
  }
  write_inputs(batch, size_t(o_.batch_seqs));
  opt_->prepare_step(lr, 1.0f / float(micro_batches()));
  step_rec_->submit_and_wait();
  StepStats s = read_stats(micro_batches());
  s.grad_norm = opt_->last_grad_norm() / float(micro_batches());  // of the mean gradient (what is clipped)
  return s;
}

std::vector<vk::OpTiming> Trainer::last_step_timings() const {
  return step_prof_ ? step_prof_->read() : std::vector<vk::OpTiming>{};
}

StepStats Trainer::gradients(const TokenBatch& batch) {
  DS_CHECK(batch.ids.size() == size_t(o_.batch_seqs) * size_t(o_.seq_len), "[train] a step takes ", o_.batch_seqs,
           " sequences of ", o_.seq_len, " tokens, got ", batch.ids.size(), " tokens");
  if (!grad_rec_) {
    grad_rec_ = std::make_unique<vk::Recording>(dev_);
    record(*grad_rec_, true, false, micro_batches());
  }
  write_inputs(batch, size_t(o_.batch_seqs));
  grad_rec_->submit_and_wait();
  return read_stats(micro_batches());
}

EvalStats Trainer::evaluate(const PackedSequences& data, size_t max_seqs) {
  if (!eval_rec_) {
    eval_rec_ = std::make_unique<vk::Recording>(dev_);
    record(*eval_rec_, false, false, 1);
  }
  DS_CHECK(data.size() == 0 || data.seq_len == o_.seq_len, "[train] sequences of ", data.seq_len,
           " tokens, the trainer takes ", o_.seq_len);
  const size_t n = max_seqs ? std::min(max_seqs, data.size()) : data.size();
  size_t ce = 0;
  while (ce < objective_->terms().size() && objective_->terms()[ce].kind != LossTerm::CrossEntropy) ++ce;
  DS_CHECK(ce < objective_->terms().size(), "[train] evaluation needs a cross-entropy term");
  double sum = 0, count = 0;
  std::vector<size_t> chunk;
  for (size_t first = 0; first < n; first += size_t(mb_seqs_)) {
    chunk.clear();
    for (size_t i = first; i < std::min(n, first + size_t(mb_seqs_)); ++i) chunk.push_back(i);
    write_inputs(gather_batch(data, chunk), size_t(mb_seqs_));
    eval_rec_->submit_and_wait();
    float v[2];
    std::memcpy(v, objective_->value(0, ce).buf.mapped, sizeof v);
    sum += double(v[0]) * double(v[1]);
    count += double(v[1]);
  }
  return {count > 0 ? sum / count : 0.0, count};
}

std::vector<float> Trainer::logits(const TokenBatch& batch) {
  DS_CHECK(batch.ids.size() <= size_t(mb_seqs_) * size_t(o_.seq_len), "[train] logits of ", batch.ids.size(),
           " tokens: at most one micro-batch (", mb_seqs_, " x ", o_.seq_len, ")");
  if (!logits_rec_) {
    logits_rec_ = std::make_unique<vk::Recording>(dev_);
    record(*logits_rec_, false, false, 1, true);
  }
  write_inputs(batch, size_t(mb_seqs_));
  logits_rec_->submit_and_wait();
  std::vector<float> z = download_f32(dev_, acts_.logits);
  z.resize(batch.ids.size() * size_t(o_.model.vocab));
  return z;
}

DistillEvalStats Trainer::evaluate_distill(const PackedSequences& data, size_t max_seqs) {
  DS_CHECK(teacher_, "[train] evaluating against a teacher needs a trainer with one");
  if (!logits_rec_) {
    logits_rec_ = std::make_unique<vk::Recording>(dev_);
    record(*logits_rec_, false, false, 1, true);
  }
  DS_CHECK(data.size() == 0 || data.seq_len == o_.seq_len, "[train] sequences of ", data.seq_len,
           " tokens, the trainer takes ", o_.seq_len);
  const size_t n = max_seqs ? std::min(max_seqs, data.size()) : data.size();
  const size_t V = size_t(o_.model.vocab);
  DistillEvalStats st;
  std::vector<size_t> chunk;
  std::vector<double> ps(V), pt(V);
  // log-softmax of one row into out; returns the argmax.
  auto log_softmax = [V](const float* z, std::vector<double>& out) {
    size_t arg = 0;
    for (size_t i = 1; i < V; ++i)
      if (z[i] > z[arg]) arg = i;
    double sum = 0;
    for (size_t i = 0; i < V; ++i) sum += std::exp(double(z[i]) - double(z[arg]));
    const double lse = double(z[arg]) + std::log(sum);
    for (size_t i = 0; i < V; ++i) out[i] = double(z[i]) - lse;
    return arg;
  };
  for (size_t first = 0; first < n; first += size_t(mb_seqs_)) {
    chunk.clear();
    for (size_t i = first; i < std::min(n, first + size_t(mb_seqs_)); ++i) chunk.push_back(i);
    const TokenBatch batch = gather_batch(data, chunk);
    write_inputs(batch, size_t(mb_seqs_));
    logits_rec_->submit_and_wait();
    const std::vector<float> zs = download_f32(dev_, acts_.logits), zt = download_f32(dev_, teacher_acts_.logits);
    for (size_t r = 0; r < batch.targets.size(); ++r) {
      const int target = batch.targets[r];
      if (target < 0) continue;
      const size_t as = log_softmax(zs.data() + r * V, ps), at = log_softmax(zt.data() + r * V, pt);
      double kl = 0, klr = 0;
      for (size_t i = 0; i < V; ++i) {
        kl += std::exp(pt[i]) * (pt[i] - ps[i]);
        klr += std::exp(ps[i]) * (ps[i] - pt[i]);
      }
      st.ce -= ps[size_t(target)];
      st.teacher_ce -= pt[size_t(target)];
      st.kl += kl;
      st.kl_reverse += klr;
      st.top1 += as == at;
      st.tokens += 1;
    }
  }
  if (st.tokens > 0)
    for (double* v : {&st.ce, &st.teacher_ce, &st.kl, &st.kl_reverse, &st.top1}) *v /= st.tokens;
  return st;
}

}  // namespace ds::train
