// The Distillation dock's plan helpers, free of widgets: a small default plan for the loaded teacher, the plan's
// text checked against the teacher (the engine's parse_distill_plan + check_plan) with a one-line summary or the
// error, and where a run's files go (the user's data folder, one folder per run).
#pragma once
#include <QString>

#include <string>

#include "app/desktop/engine_types.h"

namespace ds::app {

// Two short stages converting one attention layer each to Mamba on text sampled from the teacher; sized to run in
// about a minute on a CPU Vulkan device with the 4-layer default teacher.
QString default_plan_json(const ModelReport& teacher);

struct PlanCheck {
  bool ok = false;
  QString message;  // ok: "2 stages: layer 1 -> mamba (12 steps), ..."; else the error
  int stages = 0;
  int total_steps = 0;  // over all stages
};
PlanCheck check_plan_text(const std::string& json, const QString& plan_dir, const ModelReport& teacher);

// <data dir>/distill/<teacher>-<yyyyMMdd-hhmmss> (QStandardPaths::AppDataLocation unless `root` is given).
QString new_run_dir(const QString& teacher_name, const QString& root = QString());

}  // namespace ds::app
