// Default plan, plan checks against the teacher's layout, run folders (see distill_plan_text.h).
#include "app/desktop/distill/distill_plan_text.h"

#include <QDateTime>
#include <QDir>
#include <QObject>
#include <QRegularExpression>
#include <QStandardPaths>

#include "train/distill_plan.h"
#include "util/json_parse.h"

namespace ds::app {

QString default_plan_json(const ModelReport& teacher) {
  // The first attention layers after layer 0 (the first layer usually matters most), one per stage.
  std::vector<int> picks;
  for (int l = 1; l < teacher.n_layers && picks.size() < 2; ++l)
    if (size_t(l) >= teacher.layout.size() || teacher.layout[size_t(l)] == LayerKind::Attention) picks.push_back(l);
  if (picks.empty() && teacher.n_layers > 0) picks.push_back(0);
  QString stages;
  for (size_t i = 0; i < picks.size(); ++i)
    stages += QString(R"(%1    {"layers": [%2], "mixer": "mamba", "train": "mixers", "loss": {"reverse_kl": 1.0}, "steps": 8})")
                  .arg(i ? ",\n" : "")
                  .arg(picks[i]);
  return QString(R"({
  "data": {"corpus": "teacher", "teacher_samples": 16, "validation_fraction": 0.2},
  "train": {"seq_len": 32, "batch_seqs": 4, "seed": 1},
  "optimizer": {"lr": 0.003, "min_lr": 0.0003, "warmup_steps": 2, "weight_decay": 0.0},
  "eval": {"sequences": 4, "decode_tokens": 16},
  "mixer": {"d_state": 16, "window": 16},
  "output": {"checkpoint_interval": 4, "log_interval": 4},
  "stages": [
%1
  ]
}
)")
      .arg(stages);
}

PlanCheck check_plan_text(const std::string& json, const QString& plan_dir, const ModelReport& teacher) {
  PlanCheck r;
  try {
    const JsonDocument doc{"plan", parse_json(json, "plan")};
    const train::DistillPlan plan = train::parse_distill_plan(doc, plan_dir.toStdString());
    if (plan.stages.empty()) {
      r.message = QObject::tr("the plan has no stages");
      return r;
    }
    ModelConfig config;
    config.n_layers = teacher.n_layers;
    for (LayerKind k : teacher.layout)
      if (k != LayerKind::Attention) config.hybrid.layers = teacher.layout;
    if (!config.hybrid.layers.empty()) config.hybrid.layers.resize(size_t(teacher.n_layers), LayerKind::Attention);
    train::check_plan(plan, config);
    r.ok = true;
    r.stages = int(plan.stages.size());
    r.message = r.stages == 1 ? QObject::tr("1 stage:") : QObject::tr("%1 stages:").arg(r.stages);
    for (size_t s = 0; s < plan.stages.size(); ++s) {
      const train::StagePlan& st = plan.stages[s];
      QString layers;
      for (int l : st.layers) layers += (layers.isEmpty() ? "" : ",") + QString::number(l);
      layers = (st.layers.size() == 1 ? QObject::tr("layer ") : QObject::tr("layers ")) + layers;
      if (st.auto_count > 0) layers = QObject::tr("%1 layer(s) by importance").arg(st.auto_count);
      r.total_steps += st.steps;
      r.message += QString("%1 %2 -> %3 (%4 steps)")
                       .arg(s ? ";" : "")
                       .arg(layers)
                       .arg(layer_kind_name(st.mixer))
                       .arg(st.steps);
    }
    r.message += QObject::tr("; %1 x %2 tokens per step").arg(plan.batch_seqs).arg(plan.seq_len);
  } catch (const std::exception& e) {
    r.message = QString::fromUtf8(e.what());
  }
  return r;
}

QString new_run_dir(const QString& teacher_name, const QString& root) {
  const QString base = root.isEmpty() ? QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) : root;
  QString name = teacher_name;
  name.replace(QRegularExpression("[^A-Za-z0-9._-]"), "_");
  const QString stamp = QDateTime::currentDateTime().toString("yyyyMMdd-hhmmss");
  QString dir = QDir(base).filePath(QString("distill/%1-%2").arg(name, stamp));
  for (int i = 2; QDir(dir).exists(); ++i) dir = QDir(base).filePath(QString("distill/%1-%2-%3").arg(name, stamp).arg(i));
  return dir;
}

}  // namespace ds::app
