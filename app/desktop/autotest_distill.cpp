// AutoTest::run_distill: the end-to-end distillation scenario. The Distillation dock's default plan for the loaded
// teacher runs to completion from its Start button while the chat is paused; the explorer's Distillation panel
// must show one loss curve per stage and the dock's table one row per stage with before -> after figures; the
// last stage's "Load as student" button must open it as the student. Screenshots: panel_distillation.png,
// distill_dock.png, window_distill.png.
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QPushButton>
#include <QTableWidget>

#include "app/desktop/autotest.h"
#include "app/desktop/chat/chat_controller.h"
#include "app/desktop/chat/chat_panel.h"
#include "app/desktop/distill/distill_panel.h"
#include "app/desktop/explorer/imgui_window.h"
#include "app/desktop/main_window.h"

namespace ds::app {

void AutoTest::run_distill() {
  DistillPanel* panel = w_.distillPanel();
  w_.distillDock()->show();
  w_.distillDock()->raise();
  w_.resize(1580, 960);  // the screen's width: room for the dock's table beside the chat
  wait_until([] { return false; }, 300);
  w_.resizeDocks({w_.distillDock()}, {720}, Qt::Horizontal);
  w_.resizeDocks({w_.explorerDock()}, {380}, Qt::Vertical);
  check(wait_until([&] { return panel->planCheck().ok; }, 5000),
        "the default plan is valid for the teacher: " + panel->planCheck().message);
  report_["distill_plan_check"] = panel->planCheck().message;
  check(panel->startButton()->isEnabled(), "Start is enabled");

  int steps = 0, stages_done = 0;
  bool finished = false;
  DistillSummary summary;
  QObject scope;
  connect(w_.host().worker(), &EngineWorker::distillStep, &scope, [&](const DistillStepReport&) { ++steps; });
  connect(w_.host().worker(), &EngineWorker::distillStage, &scope,
          [&](const DistillStageReport& s) { stages_done += s.done ? 1 : 0; });
  connect(w_.host().worker(), &EngineWorker::distillFinished, &scope, [&](const DistillSummary& s) {
    finished = true;
    summary = s;
  });
  QElapsedTimer clock;
  clock.start();
  panel->startButton()->click();
  check(panel->running() && panel->stopButton()->isEnabled(), "the run starts (Stop enabled)");
  check(!w_.chat().send("Hello"), "the chat is paused while the distillation holds the engine");
  const QStringList errors = w_.errors();
  check(!errors.isEmpty() && errors.last().contains("chat is paused"), "sending says why: " + errors.value(errors.size() - 1));
  check(wait_until([&] { return steps > 0 || finished; }, 300000), "steps are reported");
  // Mid-run: the curve grows live in the explorer.
  wait_until([&] { return steps >= 4 || finished; }, 120000);
  const QImage mid = capture();
  if (!mid.isNull() && mid.save(o_.out_dir + "/panel_distillation_running.png")) screenshots_ << "panel_distillation_running.png";
  check(wait_until([&] { return finished; }, 600000), "the distillation finished");
  report_["distill_s"] = double(clock.elapsed()) / 1000.0;
  report_["distill_steps"] = steps;
  report_["distill_out_dir"] = summary.out_dir;
  check(!summary.failed && !summary.stopped, "the run ended normally (" + summary.message + ")");
  check(w_.chatPanel()->isEnabled(), "the chat is enabled again");

  const ui::TrainingSnapshot& curves = w_.explorerData().training();
  const int stages = panel->planCheck().stages;
  bool curves_ok = int(curves.stages.size()) == stages;
  for (const auto& c : curves.stages) curves_ok = curves_ok && !c.losses.empty() && c.done;
  check(curves_ok, QString("one finished loss curve per stage (%1 curves, %2 stages)").arg(curves.stages.size()).arg(stages));
  check(stages_done == stages && panel->table()->rowCount() == stages,
        QString("the evaluation table has a row per stage (%1 rows)").arg(panel->table()->rowCount()));
  QJsonArray rows;
  for (int r = 0; r < panel->table()->rowCount(); ++r) {
    QStringList cells;
    for (int c = 0; c < panel->table()->columnCount() - 1; ++c)
      cells << (panel->table()->item(r, c) ? panel->table()->item(r, c)->text() : QString());
    rows << cells.join(" | ");
  }
  report_["distill_table"] = rows;

  w_.showExplorerPanel(int(ui::Panel::Distillation));
  wait_until([&] { return w_.explorer()->currentPanel() == ui::Panel::Distillation; }, 5000);
  wait_until([] { return false; }, 400);
  const QImage img = capture();
  check(!img.isNull() && img.save(o_.out_dir + "/panel_distillation.png"), "panel_distillation.png saved");
  screenshots_ << "panel_distillation.png";
  panel->grab().save(o_.out_dir + "/distill_dock.png");
  screenshots_ << "distill_dock.png";

  // Load the last stage as the student, as a user would.
  QPushButton* load = panel->loadButton(stages - 1);
  check(load != nullptr, "the last stage has a \"Load as student\" button");
  if (load) {
    const QString model = load->toolTip();
    bool ready = false;
    ModelReport student;
    connect(&w_, &MainWindow::studentReady, &scope, [&](const ModelReport& m) {
      ready = true;
      student = m;
    });
    load->click();
    check(wait_until([&] { return ready; }, 60000) && student.path == model, "the stage's model is loaded as the student: " + model);
    QString layout;
    for (LayerKind k : student.layout) layout += k == LayerKind::Attention ? 'A' : k == LayerKind::Mamba ? 'M' : 'L';
    report_["distill_student_layout"] = layout;
    check(layout.count('M') == stages, "the student has one Mamba layer per stage (" + layout + ")");
  }
  wait_until([] { return false; }, 500);
  save_window("window_distill.png");
  const QStringList later = w_.errors().mid(errors.size());
  check(later.isEmpty(), "no errors (" + later.join("; ") + ")");
}

}  // namespace ds::app
