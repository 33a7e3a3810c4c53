// EngineHost: thread start/stop and queued calls into the worker.
#include "app/desktop/engine_host.h"

namespace ds::app {

EngineHost::EngineHost(QObject* parent) : QObject(parent) {
  register_engine_types();
  thread_.setObjectName("engine");
  worker_ = new EngineWorker;
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.start();
}

EngineHost::~EngineHost() { shutdown(); }

void EngineHost::openDevice(const QString& select, bool presentation) {
  QMetaObject::invokeMethod(worker_, [w = worker_, select, presentation] { w->openDevice(select, presentation); },
                            Qt::QueuedConnection);
}

void EngineHost::setStorePath(const QString& path) {
  QMetaObject::invokeMethod(worker_, [w = worker_, path] { w->setStorePath(path); }, Qt::QueuedConnection);
}

void EngineHost::loadModel(const QString& path, int slot) {
  QMetaObject::invokeMethod(worker_, [w = worker_, path, slot] { w->loadModel(path, slot); }, Qt::QueuedConnection);
}

void EngineHost::unloadStudent() {
  QMetaObject::invokeMethod(worker_, [w = worker_] { w->unloadStudent(); }, Qt::QueuedConnection);
}

uint64_t EngineHost::generate(GenerationRequest request) {
  request.id = next_id_++;
  QMetaObject::invokeMethod(worker_, [w = worker_, request] { w->generate(request); }, Qt::QueuedConnection);
  return request.id;
}

uint64_t EngineHost::compareStudents(GenerationRequest request, const QStringList& students) {
  request.id = next_id_++;
  QMetaObject::invokeMethod(worker_, [w = worker_, request, students] { w->compareStudents(request, students); },
                            Qt::QueuedConnection);
  return request.id;
}

void EngineHost::resetContext() {
  QMetaObject::invokeMethod(worker_, [w = worker_] { w->resetContext(); }, Qt::QueuedConnection);
}

void EngineHost::distill(const DistillRequest& request) {
  worker_->request_distill_stop(false);
  QMetaObject::invokeMethod(worker_, [w = worker_, request] { w->distill(request); }, Qt::QueuedConnection);
}

void EngineHost::stopDistill() { worker_->request_distill_stop(); }

void EngineHost::stop() { worker_->request_stop(next_id_ - 1); }

void EngineHost::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  stop();
  stopDistill();
  // Runs after whatever the worker is doing (a generation stops within one token).
  QMetaObject::invokeMethod(worker_, [w = worker_] { w->closeAll(); }, Qt::BlockingQueuedConnection);
  thread_.quit();
  thread_.wait();
}

}  // namespace ds::app
