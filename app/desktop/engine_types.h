// Values that travel between the engine worker thread and the GUI by queued signals: requests
// going in, reports coming out. Plain copyable structs registered as Qt metatypes; no pointers
// into the engine (except VulkanShare, which hands the shared device's handles to the surface).
#pragma once
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "distilscope/queue_turns.h"
#include "distilscope/sampling.h"
#include "distilscope/snapshots.h"
#include "text/chat_template.h"

namespace ds::app {

struct DeviceReport {
  QString name, type, driver, api_version;
  uint64_t device_local_bytes = 0;
  bool can_present = false;
  bool validation = false;
};

// The device's handles for the ImGui surface (valid until the worker closes the device, which it
// only does after the GUI has released the surface: see EngineHost::shutdown).
struct VulkanShare {
  void* instance = nullptr;  // VkInstance
  void* physical = nullptr;  // VkPhysicalDevice
  void* device = nullptr;    // VkDevice
  void* queue = nullptr;     // VkQueue for the UI (Device::ui_queue)
  uint32_t queue_family = 0;
  std::mutex* queue_mutex = nullptr;
  bool separate_queue = false;  // the UI has its own queue (else it shares the engine's)
  QueueTurns* turns = nullptr;  // shared queue: turns between engine steps and frames (else null)
  QStringList instance_extensions;
};

// Which model(s) answer a chat turn.
enum class ChatMode {
  Teacher,  // the model opened with File > Open (slot 0)
  Student,  // the model opened with File > Open student (slot 1)
  Pair,     // the teacher answers (greedy), the student is teacher-forced: per-token divergence
};

// Which probes run during generation (docs/probes.md). Empty lists: the defaults of
// default_probe_layers() / all heads. Probes off (the default of a bare request; the chat turns
// them on): no capture plan, no cost.
struct ProbeSettings {
  bool enabled = false;
  std::vector<int> layers, heads;
  bool logit_lens = true;
};

struct ModelReport {
  int slot = 0;          // 0: the teacher (or the only model), 1: the student
  QString path;
  QString name;          // file name or general.name
  QString arch;
  int64_t model_id = 0;  // its row in the store's models table (0: no store set, a folder, or registering failed)
  int n_layers = 0, n_heads = 0, d_model = 0, vocab = 0, context_train = 0;
  std::vector<LayerKind> layout;
  uint64_t weight_bytes = 0;
  ChatTemplateKind chat_template = ChatTemplateKind::Plain;
  std::shared_ptr<const std::vector<std::string>> token_labels;  // per vocabulary id (immutable, shared)
};

struct GenerationRequest {
  uint64_t id = 0;                      // echoed in every report of this generation
  std::vector<ChatMessage> messages;    // system + turns, formatted by the worker with the model's template
  std::string raw_prompt;               // used instead of messages when not empty (plain completion)
  ChatTemplateKind chat_template = ChatTemplateKind::Plain;
  bool template_from_model = true;      // use the model's detected template (else chat_template)
  SamplerParams sampling;
  int max_tokens = 256;
  int context_length = 0;               // 0: the model's, at most 4096; a change re-creates the session
  ChatMode mode = ChatMode::Teacher;
  ProbeSettings probes;
};

struct TokenChunk {
  uint64_t request = 0;
  int index = 0;           // generated token index
  int32_t token = 0;
  QString text;            // complete UTF-8 text released by this token (may be empty)
  double ms = 0;           // time of this token
  int context = 0;         // tokens in the context after it
  bool has_divergence = false;  // a pair turn: how the student's prediction of this token compared
  TokenDivergence divergence;
};

// What the probes of one forward pass captured, for the explorer (values; the worker keeps nothing).
// Positions [first_position, first_position + tokens.size()) are new; a pass at position p means
// every capture at positions >= p from earlier passes is stale (the context was reset or rewound).
struct ProbeStep {
  uint64_t request = 0;
  int role = 0;                 // 0: the teacher (or the model answering alone), 1: the student
  QString model;
  int n_layers = 0, n_heads = 0;
  std::vector<LayerKind> layout;
  int first_position = 0;
  std::vector<int32_t> tokens;  // ids of the new positions
  std::vector<AttentionMap> maps;             // rows of this pass's queries, per captured (layer, head)
  std::vector<TokenActivations> activations;  // per query of this pass
};

// A pair turn begins: the divergence timeline restarts with the prompt's tokens.
struct PairStart {
  uint64_t request = 0;
  QString teacher, student;
  std::vector<LayerKind> student_layout;
  std::vector<int32_t> prompt;
};

// One student of a comparison (Chat > Compare students...): how it departs from the teacher on
// the teacher's greedy reply, the same token stream for every student of the comparison.
struct StudentComparison {
  uint64_t request = 0;
  int index = 0, count = 0;       // this student's place in the comparison
  QString path, name;             // the student's file and display name
  QString teacher_text;           // the teacher's reply
  std::vector<int32_t> reply;     // its tokens (equal for every student of one comparison)
  DivergenceSnapshot divergence;  // teacher / student: display names; token labels of prompt + reply
  double seconds = 0;             // loading and comparing this student
};

struct GenerationSummary {
  uint64_t request = 0;
  QString text;
  QString stop_reason;     // "max_tokens", "end_of_generation", "cancelled", ...
  int prompt_tokens = 0, reused_tokens = 0, generated = 0;
  double prefill_tokens_per_s = 0, decode_tokens_per_s = 0;
};

struct EngineStats {
  uint64_t device_bytes = 0;
  double last_tokens_per_s = 0;
  bool busy = false;
};

// A staged distillation to run on the worker (the Distillation dock, docs/desktop-app.md).
struct DistillRequest {
  QString teacher;        // GGUF or Hugging Face folder
  std::string plan_json;  // the plan's text (docs/training.md, "Distillation")
  QString plan_dir;       // relative paths in the plan (data.corpus) resolve against it
  QString out_dir;        // stage-N.gguf, checkpoints, plan.json
  QString store;          // "" : the plan's output.store
  bool resume = false;    // continue a stopped run in out_dir
};

// One training step of a distillation.
struct DistillStepReport {
  int stage = 0, stages = 0;
  int step = 0, steps = 0;  // steps done in this stage (1..steps) of its total
  int global_step = 0;
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0;
};

// Validation figures of a student (valid: measured).
struct StageEvalReport {
  bool valid = false;
  double perplexity = 0, kl = 0, top1 = 0;
};

// A stage begun (done false: layers, and `before` unless resumed mid-stage) or finished (its model written).
struct DistillStageReport {
  int stage = 0, stages = 0;
  bool done = false;
  std::vector<int> layers;
  LayerKind mixer = LayerKind::Mamba;
  StageEvalReport before, after;
  double decode_tokens_per_s = 0;
  QString model;  // DIR/stage-N.gguf (when done)
};

struct DistillSummary {
  QString out_dir;
  int steps_done = 0;
  bool stopped = false;  // Stop was pressed: resumable from out_dir
  bool failed = false;
  QString message;       // the error when failed
};

// Registers the metatypes above (call once before connecting queued signals).
void register_engine_types();

}  // namespace ds::app

Q_DECLARE_METATYPE(ds::app::DeviceReport)
Q_DECLARE_METATYPE(ds::app::VulkanShare)
Q_DECLARE_METATYPE(ds::app::ModelReport)
Q_DECLARE_METATYPE(ds::app::GenerationRequest)
Q_DECLARE_METATYPE(ds::app::TokenChunk)
Q_DECLARE_METATYPE(ds::app::GenerationSummary)
Q_DECLARE_METATYPE(ds::app::EngineStats)
Q_DECLARE_METATYPE(ds::app::ProbeStep)
Q_DECLARE_METATYPE(ds::app::PairStart)
Q_DECLARE_METATYPE(ds::app::StudentComparison)
Q_DECLARE_METATYPE(ds::ThroughputSample)
Q_DECLARE_METATYPE(ds::app::DistillRequest)
Q_DECLARE_METATYPE(ds::app::DistillStepReport)
Q_DECLARE_METATYPE(ds::app::DistillStageReport)
Q_DECLARE_METATYPE(ds::app::DistillSummary)
