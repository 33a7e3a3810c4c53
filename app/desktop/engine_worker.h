// EngineWorker: the one object that owns the engine (Device, Model, Session) and does all Vulkan
// submission for generation. It lives on the worker thread (EngineHost moves it there); its slots
// run there, and everything it reports goes out by queued signals carrying values. Exceptions
// never leave a slot: they become failed(...) signals. Stopping works from any thread.
#pragma once
#include <QObject>

#include <atomic>
#include <memory>
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

 public slots:
  void openDevice(const QString& select, bool presentation);
  void loadModel(const QString& path);
  void generate(const ds::app::GenerationRequest& request);
  void resetContext();
  void closeAll();  // sessions, models, then the device (call before the thread ends)

 signals:
  void deviceOpened(const ds::app::DeviceReport& device, const ds::app::VulkanShare& share);
  void modelLoaded(const ds::app::ModelReport& model);
  void generationStarted(quint64 request, int prompt_tokens, int reused_tokens);
  void tokenGenerated(const ds::app::TokenChunk& chunk);
  void generationFinished(const ds::app::GenerationSummary& summary);
  void contextTokens(quint64 request, const std::vector<int32_t>& tokens);  // prompt + reply, for labels
  void throughputSampled(const ds::ThroughputSample& sample);
  void statsChanged(const ds::app::EngineStats& stats);
  // `what` says what was being done ("Opening the Vulkan device", "Loading model.gguf").
  void failed(const QString& what, const QString& message, quint64 request);

 private:
  void run_generation(const GenerationRequest& request);
  std::vector<int32_t> prompt_tokens(const GenerationRequest& request) const;
  void ensure_session(int context_length);
  void emit_stats(bool busy, double tokens_per_s);

  std::unique_ptr<Device> device_;
  std::unique_ptr<Model> model_;       // declared after device_: destroyed before it
  std::unique_ptr<Session> session_;   // destroyed before the model
  ModelReport model_report_;
  std::vector<int32_t> cached_;        // the tokens whose keys/values the session holds
  int session_context_request_ = -1;   // context_length the session was made for
  std::atomic<uint64_t> stop_up_to_{0};
};

}  // namespace ds::app
Q_DECLARE_METATYPE(std::vector<int32_t>)
