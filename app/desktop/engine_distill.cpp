// EngineWorker::distill: runs a staged distillation (engine/train/distill.h) on the engine thread with the
// worker's Device, and turns its progress into queued signals (a step, a stage begun or done, the end). The
// stop flag is read after every step; a stopped run keeps a checkpoint and resumes from it.
#include <QFileInfo>

#include <filesystem>

#include "app/desktop/engine_worker.h"
#include "train/distill.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace ds::app {

namespace {

StageEvalReport eval_report(const train::DistillEvalStats& e) {
  if (e.tokens <= 0) return {};
  return {true, e.perplexity(), e.kl, e.top1};
}

DistillStageReport stage_report(const train::DistillProgress& p) {
  DistillStageReport r;
  r.stage = p.stage;
  r.stages = p.stages;
  r.done = p.event == train::DistillProgress::Event::StageDone;
  r.mixer = p.mixer;
  if (p.result) {
    r.layers = p.result->layers;
    r.before = eval_report(p.result->before);
    r.after = eval_report(p.result->after);
    r.decode_tokens_per_s = p.result->decode_tokens_per_s;
    if (r.done) r.model = QString::fromStdString(p.result->model);
  }
  return r;
}

}  // namespace

void EngineWorker::distill(const DistillRequest& request) {
  DistillSummary summary;
  summary.out_dir = request.out_dir;
  emit_stats(true, 0);
  try {
    DS_CHECK(device_, "no Vulkan device is open");
    const std::string plan_name = request.out_dir.toStdString() + "/plan.json";
    const JsonDocument doc{plan_name, parse_json(request.plan_json, plan_name)};
    train::DistillPlan plan = train::parse_distill_plan(doc, request.plan_dir.toStdString());
    plan.json = request.plan_json;
    train::DistillOptions o;
    o.out_dir = request.out_dir.toStdString();
    o.resume = request.resume;
    o.store = request.store.toStdString();
    o.log = [](const std::string&) {};  // the dock shows the figures; the store keeps them
    o.progress = [this](const train::DistillProgress& p) {
      if (p.event != train::DistillProgress::Event::Step) {
        emit distillStage(stage_report(p));
        return true;
      }
      emit distillStep({p.stage, p.stages, p.step, p.steps, p.global_step, p.loss, p.lr, p.grad_norm,
                        p.tokens_per_s});
      return !distill_stop_.load();
    };
    const train::DistillResult r = train::distill(*device_, request.teacher.toStdString(), plan, o);
    summary.steps_done = r.steps_done;
    summary.stopped = r.stopped;
  } catch (const std::exception& e) {
    summary.failed = true;
    summary.message = QString::fromUtf8(e.what());
  }
  emit_stats(false, 0);
  emit distillFinished(summary);
}

}  // namespace ds::app
