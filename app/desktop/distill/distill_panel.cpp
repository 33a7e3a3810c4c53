// DistillPanel: widgets, plan checks while typing, run state and the per-stage evaluation table.
#include "app/desktop/distill/distill_panel.h"

#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "distilscope/model_config.h"

namespace ds::app {

namespace {
enum Column { ColStage, ColLayers, ColMixer, ColPerplexity, ColKl, ColTop1, ColDecode, ColLoad, ColCount };

QString before_after(const StageEvalReport& b, const StageEvalReport& a, double StageEvalReport::*field, int digits) {
  auto one = [&](const StageEvalReport& e) { return e.valid ? QString::number(e.*field, 'f', digits) : QString("-"); };
  if (!a.valid) return one(b);
  return one(b) + QString::fromUtf8(" → ") + one(a);
}
}  // namespace

DistillPanel::DistillPanel(QWidget* parent) : QWidget(parent) {
  teacher_label_ = new QLabel(tr("Teacher: none loaded (File > Open GGUF...)"), this);
  teacher_label_->setWordWrap(true);
  editor_ = new QPlainTextEdit(this);
  editor_->setObjectName("distill_plan");
  editor_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  editor_->setLineWrapMode(QPlainTextEdit::NoWrap);
  editor_->setToolTip(tr("The staged-distillation plan (JSON; docs/training.md, \"Distillation\"). Checked against "
                         "the loaded teacher as you type."));
  check_label_ = new QLabel(this);
  check_label_->setObjectName("distill_check");
  check_label_->setWordWrap(true);
  check_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  start_ = new QPushButton(tr("Start"), this);
  stop_ = new QPushButton(tr("Stop"), this);
  resume_ = new QPushButton(tr("Resume"), this);
  load_plan_ = new QPushButton(tr("Open plan..."), this);
  default_plan_ = new QPushButton(tr("Default plan"), this);
  stop_->setToolTip(tr("Stops after the current step; the run keeps a checkpoint and can be resumed."));
  resume_->setToolTip(tr("Continues the stopped run from its checkpoint (same plan, same folder)."));
  auto* buttons = new QHBoxLayout;
  for (QPushButton* b : {start_, stop_, resume_}) buttons->addWidget(b);
  buttons->addStretch();
  buttons->addWidget(load_plan_);
  buttons->addWidget(default_plan_);

  status_label_ = new QLabel(tr("Not started."), this);
  status_label_->setObjectName("distill_status");
  status_label_->setWordWrap(true);
  dir_label_ = new QLabel(this);
  dir_label_->setWordWrap(true);
  dir_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  table_ = new QTableWidget(0, ColCount, this);
  table_->setObjectName("distill_table");
  table_->setHorizontalHeaderLabels({tr("Stage"), tr("Layers"), tr("Mixer"), tr("Val. PPL"), tr("KL to teacher"),
                                     tr("Top-1 agr."), tr("tok/s"), QString()});
  table_->horizontalHeaderItem(ColPerplexity)->setToolTip(tr("validation perplexity: before training (just converted) → after"));
  table_->horizontalHeaderItem(ColDecode)->setToolTip(tr("decode tokens/s of the stage's model"));
  table_->horizontalHeaderItem(ColKl)->setToolTip(tr("mean KL(teacher || student) per token, nats: before → after"));
  table_->horizontalHeaderItem(ColTop1)->setToolTip(tr("fraction of tokens whose argmax agrees: before → after"));
  table_->verticalHeader()->hide();
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionMode(QAbstractItemView::NoSelection);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setMinimumHeight(110);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(teacher_label_);
  layout->addWidget(editor_, 3);
  layout->addWidget(check_label_);
  layout->addLayout(buttons);
  layout->addWidget(status_label_);
  layout->addWidget(dir_label_);
  layout->addWidget(table_, 2);
  dir_label_->setStyleSheet("color: palette(mid);");

  check_timer_ = new QTimer(this);
  check_timer_->setSingleShot(true);
  check_timer_->setInterval(250);
  connect(check_timer_, &QTimer::timeout, this, &DistillPanel::recheck);
  connect(editor_, &QPlainTextEdit::textChanged, this, [this] {
    if (!filling_) edited_ = true;
    check_timer_->start();
  });
  connect(start_, &QPushButton::clicked, this, [this] { start(false); });
  connect(resume_, &QPushButton::clicked, this, [this] { start(true); });
  connect(stop_, &QPushButton::clicked, this, [this] {
    status_label_->setText(tr("Stopping after the current step..."));
    stop_->setEnabled(false);
    emit stopRequested();
  });
  connect(load_plan_, &QPushButton::clicked, this, &DistillPanel::load_plan_file);
  connect(default_plan_, &QPushButton::clicked, this, [this] {
    if (has_teacher_) setPlanText(default_plan_json(teacher_));
    edited_ = false;
  });
  update_buttons();
}

void DistillPanel::setTeacher(const ModelReport& teacher) {
  teacher_ = teacher;
  has_teacher_ = true;
  teacher_label_->setText(tr("Teacher: %1 (%2 layers, d_model %3)").arg(teacher.name).arg(teacher.n_layers).arg(teacher.d_model));
  teacher_label_->setToolTip(teacher.path);
  if (!edited_ || planText().trimmed().isEmpty()) {
    setPlanText(default_plan_json(teacher));
    edited_ = false;
  }
  recheck();
}

void DistillPanel::setPlanText(const QString& json, const QString& plan_dir) {
  filling_ = true;
  editor_->setPlainText(json);
  filling_ = false;
  plan_dir_ = plan_dir;
  recheck();
}

QString DistillPanel::planText() const { return editor_->toPlainText(); }

QString DistillPanel::statusText() const { return status_label_->text(); }

void DistillPanel::recheck() {
  check_timer_->stop();
  if (!has_teacher_) {
    check_ = {false, tr("Open a teacher first: the plan is checked against it."), 0};
  } else {
    const QString dir = plan_dir_.isEmpty() ? QFileInfo(teacher_.path).absolutePath() : plan_dir_;
    check_ = check_plan_text(planText().toStdString(), dir, teacher_);
  }
  check_label_->setText((check_.ok ? QString::fromUtf8("✓ ") : QString::fromUtf8("✗ ")) + check_.message);
  check_label_->setStyleSheet(check_.ok ? "color: #2e7d32;" : "color: #c62828; font-weight: bold;");
  update_buttons();
}

void DistillPanel::update_buttons() {
  start_->setEnabled(!running_ && check_.ok);
  stop_->setEnabled(running_);
  resume_->setEnabled(!running_ && resumable_ && check_.ok && planText().toStdString() == run_plan_);
  load_plan_->setEnabled(!running_);
  default_plan_->setEnabled(!running_ && has_teacher_);
  editor_->setReadOnly(running_);
  // A model load would wait behind the run on the engine thread: loading is offered between runs.
  for (int r = 0; r < table_->rowCount(); ++r)
    if (QWidget* load = table_->cellWidget(r, ColLoad)) load->setEnabled(!running_);
}

void DistillPanel::start(bool resume) {
  recheck();
  if (running_ || !check_.ok) return;
  DistillRequest r;
  r.teacher = teacher_.path;
  r.plan_json = planText().toStdString();
  r.plan_dir = plan_dir_.isEmpty() ? QFileInfo(teacher_.path).absolutePath() : plan_dir_;
  r.store = store_path_;
  r.resume = resume;
  if (!resume) {
    run_dir_ = new_run_dir(teacher_.name, runs_root_);
    table_->setRowCount(0);
  }
  r.out_dir = run_dir_;
  run_plan_ = r.plan_json;
  running_ = true;
  resumable_ = false;
  dir_label_->setText(tr("Output: %1").arg(run_dir_));
  const QString status = resume ? tr("Resuming the run...") : tr("Starting: preparing the data and the first student...");
  status_label_->setText(status);
  update_buttons();
  emit runningChanged(true, status);
  emit startRequested(r);
}

void DistillPanel::load_plan_file() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open a distillation plan"), plan_dir_,
                                                    tr("Plans (*.json);;All files (*)"));
  if (path.isEmpty()) return;
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    check_label_->setText(tr("✗ cannot read %1: %2").arg(path, f.errorString()));
    return;
  }
  setPlanText(QString::fromUtf8(f.readAll()), QFileInfo(path).absolutePath());
  edited_ = true;
}

void DistillPanel::onStep(const DistillStepReport& s) {
  status_label_->setText(tr("Stage %1 of %2: step %3/%4, loss %5, %6 tokens/s")
                             .arg(s.stage + 1)
                             .arg(s.stages)
                             .arg(s.step)
                             .arg(s.steps)
                             .arg(s.loss, 0, 'f', 4)
                             .arg(s.tokens_per_s, 0, 'f', 0));
}

void DistillPanel::onStage(const DistillStageReport& s) {
  set_row(s);
  status_label_->setText(s.done ? tr("Stage %1 of %2 done: %3").arg(s.stage + 1).arg(s.stages).arg(s.model)
                                : tr("Stage %1 of %2: training...").arg(s.stage + 1).arg(s.stages));
}

void DistillPanel::set_row(const DistillStageReport& s) {
  if (s.stage < 0 || s.stage > 1000) return;
  if (table_->rowCount() <= s.stage) table_->setRowCount(s.stage + 1);
  QString layers;
  for (int l : s.layers) layers += (layers.isEmpty() ? "" : ",") + QString::number(l);
  auto set = [&](int col, const QString& text) {
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(col >= ColPerplexity ? Qt::AlignRight | Qt::AlignVCenter : Qt::AlignLeft | Qt::AlignVCenter);
    table_->setItem(s.stage, col, item);
  };
  set(ColStage, QString::number(s.stage));
  set(ColLayers, layers);
  set(ColMixer, QString::fromUtf8(layer_kind_name(s.mixer)));
  set(ColPerplexity, before_after(s.before, s.after, &StageEvalReport::perplexity, 2));
  set(ColKl, before_after(s.before, s.after, &StageEvalReport::kl, 4));
  set(ColTop1, before_after(s.before, s.after, &StageEvalReport::top1, 3));
  set(ColDecode, s.done ? QString::number(s.decode_tokens_per_s, 'f', 1) : tr("training..."));
  if (s.done) {
    auto* load = new QPushButton(tr("Load as student"), table_);
    load->setObjectName(QString("load_stage_%1").arg(s.stage));
    load->setToolTip(s.model);
    const QString model = s.model;
    connect(load, &QPushButton::clicked, this, [this, model] { emit loadStudentRequested(model); });
    load->setEnabled(!running_);
    table_->setCellWidget(s.stage, ColLoad, load);
  }
}

QPushButton* DistillPanel::loadButton(int stage) const {
  return qobject_cast<QPushButton*>(table_->cellWidget(stage, ColLoad));
}

void DistillPanel::onFinished(const DistillSummary& s) {
  running_ = false;
  resumable_ = s.stopped;
  QString status;
  if (s.failed) status = tr("Failed: %1").arg(s.message);
  else if (s.stopped) status = tr("Stopped after step %1 (over all stages); Resume continues from the checkpoint.").arg(s.steps_done);
  else status = tr("Done: %1 steps; each finished stage can be loaded as the student.").arg(s.steps_done);
  status_label_->setText(status);
  update_buttons();
  emit runningChanged(false, status);
}

}  // namespace ds::app
