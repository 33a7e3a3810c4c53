// EngineWorker: device opening, model loading (GGUF; HF folders are recognised and explained),
// and chat generation with reuse of the KV cache when the new prompt extends the cached tokens.
#include "app/desktop/engine_worker.h"

#include <QFileInfo>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "distilscope/device.h"
#include "distilscope/generate.h"
#include "distilscope/model.h"
#include "distilscope/session.h"
#include "distilscope/tokenizer.h"
#include "model/gguf.h"
#include "model/hf_config.h"
#include "text/token_label.h"
#include "util/error.h"

namespace ds::app {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

// Runs `body`, turning any exception into the failed() signal (nothing crosses into Qt).
template <class F>
void guarded(EngineWorker* w, const QString& what, quint64 request, F&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    emit w->failed(what, QString::fromUtf8(e.what()), request);
  } catch (...) {
    emit w->failed(what, QStringLiteral("unknown error"), request);
  }
}

}  // namespace

EngineWorker::EngineWorker(QObject* parent) : QObject(parent) {}
EngineWorker::~EngineWorker() = default;

void EngineWorker::request_stop(uint64_t request) {
  uint64_t cur = stop_up_to_.load();
  while (cur < request && !stop_up_to_.compare_exchange_weak(cur, request)) {
  }
}

void EngineWorker::emit_stats(bool busy, double tokens_per_s) {
  EngineStats s;
  s.device_bytes = device_ ? device_->allocated_bytes() : 0;
  s.last_tokens_per_s = tokens_per_s;
  s.busy = busy;
  emit statsChanged(s);
}

void EngineWorker::openDevice(const QString& select, bool presentation) {
  guarded(this, tr("Opening the Vulkan device"), 0, [&] {
    session_.reset();
    model_.reset();
    device_.reset();
    DeviceOptions o;
    o.select = select.toStdString();
    o.presentation = presentation;
    device_ = Device::open(o);
    const DeviceInfo& i = device_->info();
    DeviceReport r{q(i.name), q(i.type), q(i.driver), q(i.api_version), i.device_local_bytes, device_->can_present(),
                   env_flag("DS_VALIDATION")};
    VulkanShare share;
    share.instance = device_->instance();
    share.physical = device_->physical();
    share.device = device_->handle();
    share.queue = device_->ui_queue();
    share.queue_family = device_->queue_family();
    share.queue_mutex = &device_->ui_queue_mutex();
    share.separate_queue = device_->ui_queue() != device_->queue();
    for (const auto& e : device_->instance_extensions()) share.instance_extensions << q(e);
    emit deviceOpened(r, share);
    emit_stats(false, 0);
  });
}

void EngineWorker::loadModel(const QString& path) {
  const QString what = tr("Loading %1").arg(QFileInfo(path).fileName());
  guarded(this, what, 0, [&] {
    DS_CHECK(device_, "no Vulkan device is open");
    const std::string p = path.toStdString();
    if (std::filesystem::is_directory(p)) {
      if (!is_hf_model_dir(p)) fail(p, " is a folder without config.json: not a Hugging Face model folder");
      ModelConfig c = read_hf_config(find_hf_model_files(p).config);
      fail(p, ": a Hugging Face ", c.arch, " model (", c.n_layers, " layers, d_model ", c.d_model,
           "). The engine reads its config.json, but loading safetensors weights in the app is not "
           "supported yet: convert it to GGUF and open that file.");
    }
    GgufFile file(p);  // for the metadata the Model does not keep (chat template, name)
    auto model = Model::load(*device_, p);
    session_.reset();
    cached_.clear();
    model_ = std::move(model);
    const ModelConfig& c = model_->config();
    ModelReport r;
    r.path = path;
    r.name = q(file.opt_string("general.name").value_or(QFileInfo(path).completeBaseName().toStdString()));
    r.arch = q(c.arch);
    r.n_layers = c.n_layers;
    r.n_heads = c.n_heads;
    r.d_model = c.d_model;
    r.vocab = c.vocab;
    r.context_train = c.context_train;
    for (int l = 0; l < c.n_layers; ++l) r.layout.push_back(c.layer_kind(l));
    r.weight_bytes = model_->weight_bytes();
    r.chat_template = detect_chat_template(file.opt_string("tokenizer.chat_template").value_or(""));
    auto labels = std::make_shared<std::vector<std::string>>();
    const Tokenizer& tok = model_->tokenizer();
    labels->reserve(size_t(tok.vocab_size()));
    for (int32_t id = 0; id < tok.vocab_size(); ++id) labels->push_back(token_label(tok, id));
    r.token_labels = std::move(labels);
    model_report_ = r;
    emit modelLoaded(r);
    emit_stats(false, 0);
  });
}

void EngineWorker::resetContext() {
  if (session_) session_->reset();
  cached_.clear();
}

void EngineWorker::closeAll() {
  session_.reset();
  model_.reset();
  device_.reset();
}

void EngineWorker::ensure_session(int context_length) {
  if (session_ && session_context_request_ == context_length) return;
  session_.reset();
  cached_.clear();
  SessionOptions o;
  o.n_ctx = context_length;
  session_ = std::make_unique<Session>(*model_, o);
  session_context_request_ = context_length;
}

std::vector<int32_t> EngineWorker::prompt_tokens(const GenerationRequest& req) const {
  const Tokenizer& tok = model_->tokenizer();
  if (!req.raw_prompt.empty()) return tok.encode(req.raw_prompt, tok.add_bos(), false);
  ChatTemplateKind kind = req.template_from_model ? model_report_.chat_template : req.chat_template;
  ChatSpecialTokens special;
  if (tok.bos() >= 0) special.bos = std::string(tok.piece(tok.bos()));
  if (tok.eos() >= 0) special.eos = std::string(tok.piece(tok.eos()));
  std::string text = format_chat(kind, req.messages, true, special);
  // Plain completion of user text: special-token texts typed by the user stay text.
  return tok.encode(text, tok.add_bos(), kind != ChatTemplateKind::Plain);
}

void EngineWorker::generate(const GenerationRequest& req) {
  guarded(this, tr("Generating a reply"), req.id, [&] { run_generation(req); });
  emit_stats(false, 0);
}

void EngineWorker::run_generation(const GenerationRequest& req) {
  DS_CHECK(model_, "no model is loaded: open a GGUF file first");
  if (req.id <= stop_up_to_.load()) {  // stopped before it started
    GenerationSummary s;
    s.request = req.id;
    s.stop_reason = "cancelled";
    emit generationFinished(s);
    return;
  }
  ensure_session(req.context_length);
  std::vector<int32_t> tokens = prompt_tokens(req);
  DS_CHECK(!tokens.empty(), "the prompt is empty");
  // Keep the cache when it is a proper prefix of the new prompt (a conversation going on).
  size_t reuse = 0;
  if (!cached_.empty() && cached_.size() < tokens.size() && size_t(session_->n_past()) == cached_.size() &&
      std::equal(cached_.begin(), cached_.end(), tokens.begin()))
    reuse = cached_.size();
  if (reuse == 0) {
    session_->reset();
    cached_.clear();
  }
  emit generationStarted(req.id, int(tokens.size()), int(reuse));

  GenerateOptions opts;
  opts.max_tokens = req.max_tokens;
  opts.sampling = req.sampling;
  opts.add_bos = false;  // already in `tokens`
  ChatTemplateKind kind = req.template_from_model ? model_report_.chat_template : req.chat_template;
  if (req.raw_prompt.empty()) opts.stop = chat_stop_strings(kind);

  const QString model_name = model_report_.name;
  auto last_stats = std::chrono::steady_clock::now();
  double last_tps = 0;
  GenerateResult result;
  try {
    result = generate_tokens(*session_, std::span<const int32_t>(tokens).subspan(reuse), opts, [&](const TokenEvent& ev) {
      TokenChunk c{req.id, ev.index, ev.id, QString::fromUtf8(ev.text.data(), qsizetype(ev.text.size())), ev.ms,
                   session_->n_past()};
      emit tokenGenerated(c);
      if (ev.index > 0 && ev.ms > 0) {  // index 0 carries the prefill
        last_tps = 1000.0 / ev.ms;
        emit throughputSampled(ThroughputSample{model_name.toStdString(), session_->n_past(), last_tps});
      }
      auto now = std::chrono::steady_clock::now();
      if (now - last_stats > std::chrono::milliseconds(250)) {
        last_stats = now;
        emit_stats(true, last_tps);
      }
      return req.id > stop_up_to_.load();  // Stop takes effect here, between two tokens
    });
  } catch (...) {
    session_->reset();  // the cache may hold part of the failed prompt
    cached_.clear();
    throw;
  }
  // The session holds the prompt and every generated token but the last (never fed back).
  cached_ = tokens;
  cached_.insert(cached_.end(), result.tokens.begin(), result.tokens.end());
  cached_.resize(std::min(cached_.size(), size_t(session_->n_past())));
  std::vector<int32_t> context = tokens;
  context.insert(context.end(), result.tokens.begin(), result.tokens.end());
  emit contextTokens(req.id, context);

  GenerationSummary s;
  s.request = req.id;
  s.text = QString::fromStdString(result.text);
  s.stop_reason = stop_reason_name(result.reason);
  s.prompt_tokens = int(tokens.size());
  s.reused_tokens = int(reuse);
  s.generated = result.stats.generated;
  s.prefill_tokens_per_s = result.stats.prefill_tokens_per_s();
  s.decode_tokens_per_s = result.stats.decode_tokens_per_s();
  emit generationFinished(s);
}

}  // namespace ds::app
