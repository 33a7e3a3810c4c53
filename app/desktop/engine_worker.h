// EngineWorker: the one object that owns the engine (Device, the teacher and student Models and
// their Sessions) and does all Vulkan submission for generation. It lives on the worker thread
// (EngineHost moves it there); its slots run there, and everything it reports goes out by queued
// signals carrying values. Exceptions never leave a slot: they become failed(...) signals.
// Stopping works from any thread. With probes on, each forward pass's captures go out as a
// ProbeStep; a Pair turn (teacher answers, student teacher-forced) sends per-token divergence. A staged
// distillation runs here too (engine_distill.cpp), reporting each step and stage; it stops within one step.
// A loaded model file is registered in the store here (hashing only a new or changed file, off the GUI thread).
#pragma once
#include <QObject>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "app/desktop/engine_types.h"

namespace ds {
class Device;
class Model;
class Session;
}  // namespace ds

namespace ds::app {

class EngineWorker : public QObject {
  Q_OBJECT
 public:
  explicit EngineWorker(QObject* parent = nullptr);
  ~EngineWorker() override;

  // Any thread: generations with an id <= `request` stop at their next token.
  void request_stop(uint64_t request);
  // Any thread: the running (or next) distillation stops after its current step (resumable); false clears it.
  void request_distill_stop(bool stop = true) { distill_stop_ = stop; }

 public slots:
  void openDevice(const QString& select, bool presentation);
  // The SQLite store models are registered in when loaded (ModelReport::model_id; "" : none).
  void setStorePath(const QString& path) { store_path_ = path; }
  void loadModel(const QString& path, int slot = 0);  // slot 0: teacher (or the only model), 1: student
  void unloadStudent();
  void generate(const ds::app::GenerationRequest& request);
  void resetContext();
  void distill(const ds::app::DistillRequest& request);  // engine_distill.cpp
  void closeAll();  // sessions, models, then the device (call before the thread ends)
  // Each student in turn against the teacher (slot 0), on the teacher's greedy reply to the
  // request's prompt: loaded, compared with a Pair, released. One studentCompared per student, then
  // comparisonFinished (also after an error or Stop). engine_compare.cpp.
  void compareStudents(const ds::app::GenerationRequest& request, const QStringList& students);

 signals:
  void deviceOpened(const ds::app::DeviceReport& device, const ds::app::VulkanShare& share);
  void modelLoaded(const ds::app::ModelReport& model);  // model.slot says which
  void studentUnloaded();
  void generationStarted(quint64 request, int prompt_tokens, int reused_tokens);
  void tokenGenerated(const ds::app::TokenChunk& chunk);
  void generationFinished(const ds::app::GenerationSummary& summary);
  void contextTokens(quint64 request, const std::vector<int32_t>& tokens);  // prompt + reply, for labels
  void probeStep(const ds::app::ProbeStep& step);
  void pairStarted(const ds::app::PairStart& start);
  void studentCompared(const ds::app::StudentComparison& result);
  void comparisonFinished(quint64 request, int compared);
  void throughputSampled(const ds::ThroughputSample& sample);
  void statsChanged(const ds::app::EngineStats& stats);
  // `what` says what was being done ("Opening the Vulkan device", "Loading model.gguf").
  void distillStep(const ds::app::DistillStepReport& step);
  void distillStage(const ds::app::DistillStageReport& stage);
  void distillFinished(const ds::app::DistillSummary& summary);
  void failed(const QString& what, const QString& message, quint64 request);

 private:
  // A loaded model with its session and what the session's KV cache holds.
  struct Slot {
    std::unique_ptr<Model> model;
    std::unique_ptr<Session> session;  // declared after the model: destroyed before it
    ModelReport report;
    std::vector<int32_t> cached;       // the tokens whose keys/values the session holds
    int context_request = -1;          // context_length the session was made for
    int batch = 0;                     // its prefill batch
    std::string plan;                  // plan_key() of its capture plan ("" : probes off)
    void clear_cache();
  };

  void run_generation(const GenerationRequest& request);
  void run_pair(const GenerationRequest& request, const std::vector<int32_t>& tokens);
  void probe_prefill(Slot& slot, const GenerationRequest& request, const std::vector<int32_t>& tokens, int role);
  std::vector<int32_t> prompt_tokens(const Slot& slot, const GenerationRequest& request) const;
  void ensure_session(Slot& slot, int context_length, const ProbeSettings& probes);
  void emit_stats(bool busy, double tokens_per_s);
  bool stopped(uint64_t request) const { return request <= stop_up_to_.load(); }

  std::unique_ptr<Device> device_;
  std::array<Slot, 2> slots_;          // declared after device_: destroyed before it
  std::atomic<uint64_t> stop_up_to_{0};
  std::atomic<bool> distill_stop_{false};
  QString store_path_;
};

}  // namespace ds::app
Q_DECLARE_METATYPE(std::vector<int32_t>)
