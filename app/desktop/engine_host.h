// EngineHost: starts the worker thread, moves the EngineWorker there, and offers the GUI thread
// non-blocking calls into it (queued). The GUI connects to worker()'s signals (delivered queued on
// the GUI thread). stop() acts within one token; shutdown() closes the engine on its own thread.
#pragma once
#include <QObject>
#include <QThread>

#include <atomic>

#include "app/desktop/engine_worker.h"

namespace ds::app {

class EngineHost : public QObject {
  Q_OBJECT
 public:
  explicit EngineHost(QObject* parent = nullptr);
  ~EngineHost() override;  // shutdown()

  EngineWorker* worker() const { return worker_; }

  void openDevice(const QString& select, bool presentation);
  // Models loaded after this call are registered in this store (EngineWorker::setStorePath).
  void setStorePath(const QString& path);
  void loadModel(const QString& path, int slot = 0);  // slot 1: the student
  void unloadStudent();
  // Queues a generation (request.id is assigned and returned). Never waits.
  uint64_t generate(GenerationRequest request);
  // Queues a comparison of several students against the teacher (EngineWorker::compareStudents).
  uint64_t compareStudents(GenerationRequest request, const QStringList& students);
  void resetContext();
  // Queues a staged distillation (it runs on the engine thread; generations queued after it wait for it).
  void distill(const DistillRequest& request);
  // Stops the running distillation after its current step (the run stays resumable).
  void stopDistill();
  // Stops the running generation and any queued before this call, at their next token.
  void stop();
  uint64_t last_request() const { return next_id_ - 1; }
  // Stops generation, releases the engine on the worker thread, then ends the thread. Call after
  // the GUI has released anything drawing with the device (the explorer surface).
  void shutdown();

 private:
  QThread thread_;
  EngineWorker* worker_ = nullptr;
  uint64_t next_id_ = 1;
  bool shut_down_ = false;
};

}  // namespace ds::app
