// EngineWorker: device opening, model loading (GGUF files and Hugging Face folders, as teacher or
// student), chat generation with reuse of the KV cache when the new prompt extends the cached
// tokens, probes streamed per forward pass, and teacher-student pair turns.
//
// [SECTION] device and models   [SECTION] generation   [SECTION] probes   [SECTION] pairs
#include "app/desktop/engine_worker.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "app/desktop/engine_probes.h"
#include "distilscope/device.h"
#include "distilscope/generate.h"
#include "distilscope/model.h"
#include "distilscope/pair.h"
#include "distilscope/probe_store.h"
#include "distilscope/session.h"
#include "distilscope/store.h"
#include "distilscope/tokenizer.h"
#include "model/gguf.h"
#include "model/hf_config.h"
#include "probe/frame.h"
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

// The model file's row in the store at `store_path` (a connection of this thread, closed again). 0 when
// no store is set, for a Hugging Face folder (no single file to hash), or when the store refuses: the
// model still loads and the chat's replies are stored without it (the reason goes to the log).
int64_t register_in_store(const QString& store_path, const Model& model) {
  if (store_path.isEmpty() || !std::filesystem::is_regular_file(model.path())) return 0;
  try {
    Store store(store_path.toStdString());
    return register_model(store, model);
  } catch (const std::exception& e) {
    qWarning("Registering %s in the store %s: %s", model.path().c_str(), qPrintable(store_path), e.what());
    return 0;
  }
}

QJsonObject read_json(const std::string& path) {
  QFile f(q(path));
  if (path.empty() || !f.open(QIODevice::ReadOnly)) return {};
  return QJsonDocument::fromJson(f.readAll()).object();
}

// A Hugging Face folder's display name and chat template (tokenizer_config.json "chat_template": a
// string, or a list of {name, template} whose "default" entry counts).
void hf_metadata(const std::string& dir, QString& name, std::string& chat_template) {
  const HfModelFiles files = find_hf_model_files(dir);
  name = QDir(q(dir)).dirName();
  const QJsonValue t = read_json(files.tokenizer_config).value("chat_template");
  if (t.isString()) chat_template = t.toString().toStdString();
  for (const QJsonValue& v : t.toArray())
    if (v.toObject().value("name").toString() == "default")
      chat_template = v.toObject().value("template").toString().toStdString();
}

}  // namespace

EngineWorker::EngineWorker(QObject* parent) : QObject(parent) {}
EngineWorker::~EngineWorker() = default;

void EngineWorker::Slot::clear_cache() {
  if (session) session->reset();
  cached.clear();
}

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

// [SECTION] device and models ---------------------------------------------------------------------
void EngineWorker::openDevice(const QString& select, bool presentation) {
  guarded(this, tr("Opening the Vulkan device"), 0, [&] {
    for (Slot& s : slots_) s = Slot{};
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
    // One queue for both (lavapipe): frames take turns with engine submissions (DS_QUEUE_TURNS=0: off).
    const char* turns_env = std::getenv("DS_QUEUE_TURNS");
    if (!share.separate_queue && !(turns_env && std::string(turns_env) == "0")) {
      device_->queue_turns().set_enabled(true);
      share.turns = &device_->queue_turns();
    }
    for (const auto& e : device_->instance_extensions()) share.instance_extensions << q(e);
    emit deviceOpened(r, share);
    emit_stats(false, 0);
  });
}

void EngineWorker::loadModel(const QString& path, int slot_index) {
  const QString what = slot_index == 1 ? tr("Loading the student %1").arg(QFileInfo(path).fileName())
                                       : tr("Loading %1").arg(QFileInfo(path).fileName());
  guarded(this, what, 0, [&] {
    DS_CHECK(device_, "no Vulkan device is open");
    DS_CHECK(slot_index == 0 || slot_index == 1, "model slot ", slot_index, " (0: teacher, 1: student)");
    const std::string p = path.toStdString();
    QString name;
    std::string chat_template;
    if (std::filesystem::is_directory(p)) {
      if (!is_hf_model_dir(p)) fail(p, " is a folder without config.json: not a Hugging Face model folder");
      hf_metadata(p, name, chat_template);
    } else {
      GgufFile file(p);  // for the metadata the Model does not keep (chat template, name)
      name = q(file.opt_string("general.name").value_or(QFileInfo(path).completeBaseName().toStdString()));
      chat_template = file.opt_string("tokenizer.chat_template").value_or("");
    }
    // A student named like its teacher (a linearized copy keeps general.name) goes by its file name.
    if (slot_index == 1 && name == slots_[0].report.name) name = QFileInfo(path).completeBaseName();
    auto model = Model::load(*device_, p);
    if (slot_index == 1 && slots_[0].model) check_same_tokenizer(*slots_[0].model, *model);
    Slot& slot = slots_[size_t(slot_index)];
    slot = Slot{};
    slot.model = std::move(model);
    const ModelConfig& c = slot.model->config();
    ModelReport& r = slot.report;
    r.slot = slot_index;
    r.path = path;
    r.name = name;
    r.arch = q(c.arch);
    r.n_layers = c.n_layers;
    r.n_heads = c.n_heads;
    r.d_model = c.d_model;
    r.vocab = c.vocab;
    r.context_train = c.context_train;
    for (int l = 0; l < c.n_layers; ++l) r.layout.push_back(c.layer_kind(l));
    r.weight_bytes = slot.model->weight_bytes();
    r.chat_template = detect_chat_template(chat_template);
    auto labels = std::make_shared<std::vector<std::string>>();
    const Tokenizer& tok = slot.model->tokenizer();
    labels->reserve(size_t(tok.vocab_size()));
    for (int32_t id = 0; id < tok.vocab_size(); ++id) labels->push_back(token_label(tok, id));
    r.token_labels = std::move(labels);
    r.model_id = register_in_store(store_path_, *slot.model);
    // A new teacher may not share the student's tokenizer: the student goes.
    if (slot_index == 0 && slots_[1].model) {
      bool same = true;
      try {
        check_same_tokenizer(*slots_[0].model, *slots_[1].model);
      } catch (const std::exception&) {
        same = false;
      }
      if (!same) {
        slots_[1] = Slot{};
        emit studentUnloaded();
      }
    }
    emit modelLoaded(r);
    emit_stats(false, 0);
  });
}

void EngineWorker::unloadStudent() {
  slots_[1] = Slot{};
  emit studentUnloaded();
  emit_stats(false, 0);
}

void EngineWorker::resetContext() {
  for (Slot& s : slots_) s.clear_cache();
}

void EngineWorker::closeAll() {
  for (Slot& s : slots_) s = Slot{};
  device_.reset();
}

// [SECTION] generation ----------------------------------------------------------------------------
void EngineWorker::ensure_session(Slot& slot, int context_length, const ProbeSettings& probes) {
  const ModelConfig& c = slot.model->config();
  // While probes are on, prefill passes are no larger than the captured queries of a pass.
  int n_ctx = context_length > 0 ? context_length : std::min(c.context_train > 0 ? c.context_train : 2048, 4096);
  const int batch = probes.enabled ? probe_batch(c, probes, n_ctx) : 512;
  if (!slot.session || slot.context_request != context_length || slot.batch != batch) {
    slot.session.reset();
    slot.cached.clear();
    slot.plan.clear();
    SessionOptions o;
    o.n_ctx = context_length;
    o.max_batch = batch;
    slot.session = std::make_unique<Session>(*slot.model, o);
    slot.context_request = context_length;
    slot.batch = batch;
  }
  if (!probes.enabled) {
    if (slot.session->capturing()) slot.session->set_capture_plan(nullptr);
    slot.plan.clear();
    return;
  }
  const probe::CapturePlan plan = make_probe_plan(c, probes, slot.session->n_ctx());
  const std::string key = plan_key(plan);
  if (key == slot.plan) return;
  slot.session->set_capture_plan(&plan, nullptr, 64);
  slot.plan = key;
  slot.clear_cache();  // earlier positions were captured with another plan: capture them again
}

std::vector<int32_t> EngineWorker::prompt_tokens(const Slot& slot, const GenerationRequest& req) const {
  const Tokenizer& tok = slot.model->tokenizer();
  if (!req.raw_prompt.empty()) return tok.encode(req.raw_prompt, tok.add_bos(), false);
  ChatTemplateKind kind = req.template_from_model ? slot.report.chat_template : req.chat_template;
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
  const bool student = req.mode == ChatMode::Student;
  Slot& m = slots_[student ? 1 : 0];
  DS_CHECK(slots_[0].model, "no model is loaded: open a GGUF file or a Hugging Face folder first");
  DS_CHECK(m.model && (req.mode != ChatMode::Pair || slots_[1].model),
           "no student is loaded: open one with File > Open student...");
  if (stopped(req.id)) {  // stopped before it started
    GenerationSummary s;
    s.request = req.id;
    s.stop_reason = "cancelled";
    emit generationFinished(s);
    return;
  }
  std::vector<int32_t> tokens = prompt_tokens(m, req);
  DS_CHECK(!tokens.empty(), "the prompt is empty");
  if (req.mode == ChatMode::Pair) return run_pair(req, tokens);
  ensure_session(m, req.context_length, req.probes);
  Session& session = *m.session;
  // Keep the cache when it is a proper prefix of the new prompt (a conversation going on).
  size_t reuse = 0;
  if (!m.cached.empty() && m.cached.size() < tokens.size() && size_t(session.n_past()) == m.cached.size() &&
      std::equal(m.cached.begin(), m.cached.end(), tokens.begin()))
    reuse = m.cached.size();
  if (reuse == 0) m.clear_cache();
  emit generationStarted(req.id, int(tokens.size()), int(reuse));

  GenerateOptions opts;
  opts.max_tokens = req.max_tokens;
  opts.sampling = req.sampling;
  opts.add_bos = false;  // already in `tokens`
  ChatTemplateKind kind = req.template_from_model ? m.report.chat_template : req.chat_template;
  if (req.raw_prompt.empty()) opts.stop = chat_stop_strings(kind);

  const std::string model_name = m.report.name.toStdString();
  std::vector<int32_t> context = tokens;  // ids by position, for the probe steps
  auto send_probes = [&] {
    if (!session.capturing()) return;
    for (probe::Frame& f : session.take_frames()) emit probeStep(to_probe_step(std::move(f), context, req.id, 0, m.report));
  };
  auto last_stats = std::chrono::steady_clock::now();
  double last_tps = 0;
  GenerateResult result;
  try {
    result = generate_tokens(session, std::span<const int32_t>(tokens).subspan(reuse), opts, [&](const TokenEvent& ev) {
      if (ev.id >= 0) context.push_back(ev.id);
      send_probes();
      TokenChunk c{req.id, ev.index, ev.id, QString::fromUtf8(ev.text.data(), qsizetype(ev.text.size())), ev.ms,
                   session.n_past()};
      emit tokenGenerated(c);
      if (ev.index > 0 && ev.ms > 0) {  // index 0 carries the prefill
        last_tps = 1000.0 / ev.ms;
        emit throughputSampled(ThroughputSample{model_name, session.n_past(), last_tps});
      }
      auto now = std::chrono::steady_clock::now();
      if (now - last_stats > std::chrono::milliseconds(250)) {
        last_stats = now;
        emit_stats(true, last_tps);
      }
      return !stopped(req.id);  // Stop takes effect here, between two tokens
    });
    send_probes();  // the pass of a final end-of-generation token
  } catch (...) {
    m.clear_cache();  // the cache may hold part of the failed prompt
    throw;
  }
  // The session holds the prompt and every generated token but the last (never fed back).
  m.cached = tokens;
  m.cached.insert(m.cached.end(), result.tokens.begin(), result.tokens.end());
  m.cached.resize(std::min(m.cached.size(), size_t(session.n_past())));
  std::vector<int32_t> all = tokens;
  all.insert(all.end(), result.tokens.begin(), result.tokens.end());
  emit contextTokens(req.id, all);

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

// [SECTION] probes --------------------------------------------------------------------------------
// The whole context through `slot`'s session with probes on (one batched prefill, no sampling):
// the captures of every position, sent as probe steps of `role`. The session then holds the context.
void EngineWorker::probe_prefill(Slot& slot, const GenerationRequest& req, const std::vector<int32_t>& tokens, int role) {
  ensure_session(slot, req.context_length, req.probes);
  slot.clear_cache();
  const size_t n = std::min(tokens.size(), size_t(slot.session->n_ctx()));
  if (n == 0) return;
  slot.session->prefill(std::span<const int32_t>(tokens).first(n), false);
  slot.cached.assign(tokens.begin(), tokens.begin() + long(n));
  for (probe::Frame& f : slot.session->take_frames())
    emit probeStep(to_probe_step(std::move(f), tokens, req.id, role, slot.report));
}

// [SECTION] pairs ---------------------------------------------------------------------------------
// The teacher answers greedily and the student reads the same tokens; every token's divergence goes
// out with its text. Then, with probes on, both models read the whole context once more with
// probes, for the explorer's teacher / student / difference maps.
void EngineWorker::run_pair(const GenerationRequest& req, const std::vector<int32_t>& tokens) {
  Slot& t = slots_[0];
  Slot& st = slots_[1];
  PairOptions po;
  const int limit = t.report.context_train > 0 ? std::min(t.report.context_train, 4096) : 4096;
  const int want = req.context_length > 0 ? req.context_length : limit;
  DS_CHECK(int(tokens.size()) < want, "the conversation (", tokens.size(), " tokens) fills the context (", want,
           "): start a new conversation");
  po.n_ctx = std::min(want, int(tokens.size()) + req.max_tokens);
  Pair pair(*t.model, *st.model, po);
  emit generationStarted(req.id, int(tokens.size()), 0);
  emit pairStarted(PairStart{req.id, t.report.name, st.report.name, st.report.layout, tokens});

  const Tokenizer& tok = t.model->tokenizer();
  const std::string model_name = t.report.name.toStdString() + " + " + st.report.name.toStdString();
  Utf8Joiner joiner;
  std::vector<int32_t> generated;
  std::string text;
  bool cancelled = false, eog = false;
  double total_ms = 0;
  pair.run_tokens(tokens, req.max_tokens, [&](const PairStep& step) {
    const int32_t id = step.div.token;
    generated.push_back(id);
    eog = tok.is_end_of_generation(id);
    const std::string piece = eog ? std::string() : joiner.push(step.piece);
    text += piece;
    total_ms += step.ms;
    TokenChunk c{req.id, step.index, id, QString::fromUtf8(piece.data(), qsizetype(piece.size())), step.ms,
                 int(tokens.size() + generated.size())};
    c.has_divergence = true;
    c.divergence = step.div;
    emit tokenGenerated(c);
    if (step.index > 0 && step.ms > 0)
      emit throughputSampled(ThroughputSample{model_name, c.context, 1000.0 / step.ms});
    cancelled = stopped(req.id);
    return !cancelled;
  });
  if (const std::string tail = joiner.flush(); !tail.empty()) text += tail;

  std::vector<int32_t> all = tokens;
  all.insert(all.end(), generated.begin(), generated.end());
  if (req.probes.enabled && !cancelled) {
    probe_prefill(t, req, all, 0);
    probe_prefill(st, req, all, 1);
  }
  emit contextTokens(req.id, all);
  GenerationSummary s;
  s.request = req.id;
  s.text = QString::fromStdString(text);
  s.stop_reason = cancelled ? "cancelled" : eog ? "end_of_generation" : "max_tokens";
  s.prompt_tokens = int(tokens.size());
  s.generated = int(generated.size());
  s.decode_tokens_per_s = total_ms > 0 ? double(generated.size()) * 1000.0 / total_ms : 0;
  emit generationFinished(s);
}

}  // namespace ds::app
