// DistillPanel: the Distillation dock. A plan editor pre-filled with a small plan for the loaded teacher, checked
// against it as the text changes (the error shown inline); Start / Stop / Resume; the run's progress; and the
// evaluation table, one row per stage (layers, mixer, validation perplexity, KL to the teacher, top-1 agreement,
// each before -> after training, and decode tokens/s) with a "Load as student" button per finished stage. It only
// emits requests; MainWindow hands them to the engine thread and feeds the reports back.
#pragma once
#include <QWidget>

#include "app/desktop/distill/distill_plan_text.h"
#include "app/desktop/engine_types.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTableWidget;
class QTimer;

namespace ds::app {

class DistillPanel : public QWidget {
  Q_OBJECT
 public:
  explicit DistillPanel(QWidget* parent = nullptr);

  void setTeacher(const ModelReport& teacher);  // refills the editor with the default plan unless edited
  void setStorePath(const QString& path) { store_path_ = path; }
  void setRunsRoot(const QString& root) { runs_root_ = root; }  // "" : the user's data folder
  void setPlanText(const QString& json, const QString& plan_dir = QString());
  QString planText() const;
  const PlanCheck& planCheck() const { return check_; }
  bool running() const { return running_; }
  QString runDir() const { return run_dir_; }

  void onStep(const DistillStepReport& step);
  void onStage(const DistillStageReport& stage);
  void onFinished(const DistillSummary& summary);

  // For tests and the end-to-end run (what a user would click).
  QPushButton* startButton() const { return start_; }
  QPushButton* stopButton() const { return stop_; }
  QPushButton* resumeButton() const { return resume_; }
  QTableWidget* table() const { return table_; }
  QPushButton* loadButton(int stage) const;  // null until that stage is done
  QString statusText() const;

 signals:
  void startRequested(const ds::app::DistillRequest& request);
  void stopRequested();
  void loadStudentRequested(const QString& path);
  void runningChanged(bool running, const QString& status);

 private:
  void recheck();
  void start(bool resume);
  void load_plan_file();
  void update_buttons();
  void set_row(const DistillStageReport& stage);

  ModelReport teacher_;
  bool has_teacher_ = false;
  bool edited_ = false;       // the user changed the default plan
  bool filling_ = false;      // the editor is being filled by code
  bool running_ = false;
  bool resumable_ = false;    // the last run was stopped: Resume continues it
  PlanCheck check_;
  QString plan_dir_, store_path_, runs_root_, run_dir_;
  std::string run_plan_;      // the plan text the current/last run started with (resume needs the same)
  QLabel *teacher_label_, *check_label_, *status_label_, *dir_label_;
  QPlainTextEdit* editor_;
  QPushButton *start_, *stop_, *resume_, *load_plan_, *default_plan_;
  QTableWidget* table_;
  QTimer* check_timer_;
};

}  // namespace ds::app
