// The pretraining run loop (see pretrain.h).
#include "train/pretrain.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>

#include "distilscope/device.h"
#include "distilscope/store.h"
#include "distilscope/tokenizer.h"
#include "model/gguf.h"
#include "text/gguf_tokenizer.h"
#include "train/batch_order.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "util/error.h"
#include "util/json.h"
#include "vk/recorder.h"

namespace ds::train {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DS_CHECK(in, "[pretrain] cannot read the corpus ", path, ": ", std::strerror(errno));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// The store side of a run: the run row, steps and evaluations through a background writer.
class RunRecorder {
 public:
  RunRecorder(const std::string& store_path, const PretrainConfig& cfg, const TrainState& resumed) {
    if (store_path == "none") return;
    path_ = store_path.empty() ? default_store_path() : store_path;
    Store s(path_);
    const auto old = resumed.run_id ? s.get_run(resumed.run_id) : std::nullopt;
    if (old && old->kind == RunKind::Pretrain) {
      s.resume_training_run(old->id, 0, resumed.step);
      id_ = old->id;
    } else {
      Run r;
      r.kind = RunKind::Pretrain;
      r.config_json = to_json(cfg);
      id_ = s.create_run(r);
    }
    writer_.emplace(path_, StoreWriterOptions{.max_uncommitted = 0});
  }
  int64_t id() const { return id_; }
  void step(int step, const StepStats& st, double lr, double tokens_per_s) {
    if (!writer_) return;
    TrainStep t;
    t.run_id = id_;
    t.step = step;
    t.loss = st.loss;
    t.losses_json = JsonWriter().begin_object().field("ce", st.terms.at(0)).end_object().str();
    t.lr = lr;
    t.tokens_per_s = tokens_per_s;
    t.grad_norm = st.grad_norm;
    writer_->submit(t);
  }
  void eval(int step, const EvalStats& e, const std::string& checkpoint) {
    if (!writer_) return;
    StageEval s;
    s.run_id = id_;
    s.step = step;
    s.perplexity = e.perplexity();
    s.checkpoint_path = checkpoint;
    writer_->submit(s);
  }
  void finish(RunStatus status, const std::string& error, const std::string& model) {
    if (!writer_) return;
    writer_->flush();
    writer_.reset();
    Store s(path_);
    if (!model.empty()) s.set_run_model(id_, s.register_model_file(model, "llama", "").id);
    s.finish_run(id_, status, error);
  }
  void flush() {
    if (writer_) writer_->flush();
  }

 private:
  std::string path_;
  int64_t id_ = 0;
  std::optional<StoreWriter> writer_;
};

// GPU time per kernel (labels up to the first space) of one step, largest first.
void log_profile(const std::vector<vk::OpTiming>& timings, const std::function<void(const std::string&)>& log) {
  std::map<std::string, std::pair<double, int>> by_op;
  double total = 0;
  for (const auto& t : timings) {
    auto& e = by_op[t.label.substr(0, t.label.find(' '))];
    e.first += t.ms;
    e.second += 1;
    total += t.ms;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> rows(by_op.begin(), by_op.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  log(cat("GPU time of one step: ", fmt("%.2f", total), " ms in ", timings.size(), " dispatches"));
  for (const auto& [name, v] : rows)
    log(cat("  ", name, ": ", fmt("%.2f", v.first), " ms (", fmt("%.1f", total > 0 ? 100 * v.first / total : 0.0),
            "%) x", v.second));
}

}  // namespace

TrainerOptions trainer_options(const PretrainConfig& cfg, int vocab) {
  TrainerOptions to;
  to.model = model_config(cfg.model, vocab, cfg.train.seq_len);
  to.seq_len = cfg.train.seq_len;
  to.batch_seqs = cfg.train.batch_seqs;
  to.micro_batch_seqs = cfg.train.micro_batch_seqs;
  to.weights = cfg.train.weights;
  to.adamw = adamw_config(cfg.optim);
  to.weight_decay = cfg.optim.weight_decay;
  return to;
}

Corpus load_corpus(const PretrainConfig& cfg, const Tokenizer& tok) {
  const std::string text = read_text(cfg.data.corpus);
  validate_utf8(text, cfg.data.corpus);
  CorpusOptions co;
  co.separator = cfg.data.separator;
  co.min_doc_bytes = size_t(cfg.data.min_doc_bytes);
  co.validation_fraction = cfg.data.validation_fraction;
  co.seq_len = cfg.train.seq_len;
  co.seed = cfg.train.seed;
  co.doc_end_token = cfg.data.doc_end_token ? tok.eos() : -1;
  Corpus corpus = build_corpus(text, tok, co);
  DS_CHECK(corpus.train.size() > 0, "[pretrain] ", cfg.data.corpus, " gives ", corpus.train_tokens,
           " training tokens: not one sequence of ", cfg.train.seq_len + 1);
  return corpus;
}

PretrainResult pretrain(Device& dev, const PretrainConfig& cfg, const PretrainOptions& opts) {
  auto log = opts.log ? opts.log : [](const std::string& s) {
    std::printf("%s\n", s.c_str());
    std::fflush(stdout);
  };
  DS_CHECK(!cfg.data.tokenizer.empty(), "[pretrain] no tokenizer given (data.tokenizer or --tokenizer)");
  DS_CHECK(!cfg.data.corpus.empty(), "[pretrain] no corpus given (data.corpus or --corpus)");
  const TokenizerData tok_data = tokenizer_data_from_gguf(GgufFile(cfg.data.tokenizer));
  const auto tok = Tokenizer::create(tok_data);
  const Corpus corpus = load_corpus(cfg, *tok);
  TrainerOptions to = trainer_options(cfg, tok->vocab_size());
  to.memory_budget = opts.memory_budget;
  Trainer trainer(dev, to);

  fs::create_directories(cfg.output.dir);
  PretrainResult res;
  res.checkpoint = (fs::path(cfg.output.dir) / "checkpoint.gguf").string();
  res.model = (fs::path(cfg.output.dir) / "model.gguf").string();
  res.micro_batch_seqs = trainer.micro_batch_seqs();
  TrainState state;
  if (opts.resume) {
    DS_CHECK(fs::exists(res.checkpoint), "[pretrain] nothing to resume: ", res.checkpoint, " does not exist");
    state = load_checkpoint(res.checkpoint, trainer);
    DS_CHECK(state.seed == cfg.train.seed, res.checkpoint, ": the checkpoint was trained with seed ", state.seed,
             ", the configuration says ", cfg.train.seed, " (the data order would differ)");
    log(cat("resuming ", res.checkpoint, " at step ", state.step));
  } else {
    DS_CHECK(!fs::exists(res.checkpoint), "[pretrain] ", res.checkpoint,
             " exists: pass --resume to continue that run, or choose another output directory");
    trainer.params().init_random(cfg.train.seed, cfg.model.init_std);
    state.seed = cfg.train.seed;
  }
  state.config_json = to_json(cfg);
  RunRecorder recorder(cfg.output.store, cfg, state);
  state.run_id = recorder.id();
  res.run_id = recorder.id();

  const ModelConfig& mc = to.model;
  log(cat("model: ", mc.n_layers, " layers, d_model ", mc.d_model, ", ", mc.n_heads, " heads (", mc.n_kv_heads,
          " kv, head_dim ", mc.head_dim, "), ffn ", mc.ffn_dim, ", vocab ", mc.vocab, ", ",
          fmt("%.2f", double(trainer.params().n_elements()) / 1e6), " M parameters"));
  log(cat("data: ", corpus.train.size(), " training sequences (", corpus.train_tokens, " tokens), ",
          corpus.validation.size(), " validation sequences; batch ", cfg.train.batch_seqs, " x ", cfg.train.seq_len,
          " tokens in ", trainer.micro_batches(), " micro-batches of ", trainer.micro_batch_seqs(), " (",
          format_bytes(double(trainer.activation_bytes())), " of activations); device ", dev.info().name));

  const LrSchedule schedule = lr_schedule(cfg.optim, cfg.train.steps);
  BatchOrder order(corpus.train.size(), cfg.train.batch_seqs, cfg.train.seed);
  const double step_tokens = double(cfg.train.batch_seqs) * cfg.train.seq_len;
  double train_seconds = 0, window_seconds = 0;
  int window_steps = 0, saved_step = state.step;
  const int state_start = state.step;
  try {
    for (int step = state.step; step < cfg.train.steps; ++step) {
      if (step == opts.nan_at_step) {
        const auto& w = trainer.params().output_norm();
        trainer.params().upload(w.name, std::vector<float>(size_t(w.master.n_elements()), NAN));
      }
      const float lr = schedule.at(step);
      const auto t0 = std::chrono::steady_clock::now();
      const StepStats st = trainer.step(gather_batch(corpus.train, order.batch(step)), lr);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!std::isfinite(st.loss) || !std::isfinite(st.grad_norm))
        fail("[pretrain] the loss is ", st.loss, " (gradient norm ", st.grad_norm, ") at step ", step,
             "; stopped. The last good checkpoint is step ", saved_step, ": ",
             fs::exists(res.checkpoint) ? res.checkpoint : "(none saved yet)");
      train_seconds += dt;
      window_seconds += dt;
      ++window_steps;
      state.step = step + 1;
      state.tokens_seen += uint64_t(step_tokens);
      res.losses.push_back(st.loss);
      recorder.step(step, st, lr, step_tokens / dt);
      const int done = step + 1;
      if (done % cfg.output.log_interval == 0 || step == 0 || done == cfg.train.steps) {
        log(cat("step ", done, "/", cfg.train.steps, "  loss ", fmt("%.4f", st.loss), "  lr ", fmt("%.2e", lr),
                "  grad norm ", fmt("%.3f", st.grad_norm), "  ",
                fmt("%.0f", step_tokens * window_steps / window_seconds), " tok/s"));
        window_seconds = 0;
        window_steps = 0;
      }
      if (dev.profiling() && step == state_start + 1) log_profile(trainer.last_step_timings(), log);
      std::string saved;
      if (done % cfg.output.checkpoint_interval == 0 || done == cfg.train.steps) {
        save_checkpoint(res.checkpoint, trainer, tok_data, state);
        export_model(res.model, trainer.params(), tok_data, cfg.output.export_type, state);
        saved = res.checkpoint;
        saved_step = done;
      }
      if ((cfg.eval.interval && done % cfg.eval.interval == 0) || done == cfg.train.steps) {
        const EvalStats e = trainer.evaluate(corpus.validation, size_t(cfg.eval.sequences));
        res.val_loss = e.loss;
        recorder.eval(done, e, saved);
        log(cat("eval at step ", done, ": validation loss ", fmt("%.4f", e.loss), ", perplexity ",
                fmt("%.2f", e.perplexity()), " over ", size_t(e.tokens), " tokens"));
      }
      if (done == opts.stop_after_step) {  // test hook: as if killed here
        recorder.flush();
        res.steps_done = done;
        res.tokens_per_s = step_tokens * double(res.losses.size()) / train_seconds;
        return res;
      }
    }
  } catch (const std::exception& e) {
    recorder.finish(RunStatus::Failed, e.what(), "");
    throw;
  }
  res.steps_done = state.step;
  res.tokens_per_s = res.losses.empty() ? 0 : step_tokens * double(res.losses.size()) / train_seconds;
  log(cat("done: ", state.step, " steps, ", fmt("%.0f", res.tokens_per_s), " training tok/s; ", res.model));
  recorder.finish(RunStatus::Done, "", res.model);
  return res;
}

}  // namespace ds::train
