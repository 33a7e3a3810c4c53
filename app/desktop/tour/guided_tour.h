// GuidedTour: Help > Guided tour, a dock that walks a class through the default teacher and its
// Mamba students in four steps (tour_steps.cpp): the teacher's answer, where each student departs
// from it, a mixer layer's implied attention beside the teacher's attention, and the speed gain.
// Each step sets up what it talks about (models, chat mode, a prompt, the explorer tab, layer and
// head) through a queue of actions, each run once its condition holds (a model loaded, the reply
// or comparison before it finished), so the GUI never waits. Next / Back move between steps.
#pragma once
#include <QDockWidget>

#include <deque>
#include <functional>
#include <map>

#include "app/desktop/engine_types.h"

class QLabel;
class QPushButton;
class QTimer;

namespace ds::app {

class MainWindow;
class StudentComparisonRunner;

class GuidedTour : public QDockWidget {
  Q_OBJECT
 public:
  GuidedTour(MainWindow& window, StudentComparisonRunner& comparison);

  static constexpr int k_steps = 4;
  void start();  // shows the dock at the first step
  void goTo(int step);
  void next() { goTo(step_ + 1); }
  void back() { goTo(step_ - 1); }
  void finish();  // hides the dock, gives the chat its settings back
  void fitToFont();  // the dock about 46 characters wide in the current font (presentation mode)
  int step() const { return step_; }
  // The current step's set-up is done: its actions ran and no reply or comparison is running.
  bool idle() const;
  QString title() const;
  QString text() const;
  // Decode tokens/s of the tour's last teacher-only and student-only replies (0: none yet).
  double teacherSpeed() const;
  double studentSpeed() const;
  int mixerLayer() const;  // the first Mamba/linear layer of the tour's student (-1: none)
  static QString prompt();

 signals:
  void stepChanged(int step);

 protected:
  void closeEvent(QCloseEvent* e) override;

 private:
  struct Action {
    QString doing;                // shown while waiting for `ready`
    std::function<bool()> ready;  // may it run now?
    std::function<void()> run;
  };
  void then(const QString& doing, std::function<bool()> ready, std::function<void()> run = {});
  void pump();
  bool quiet() const;  // no reply and no comparison running
  void show_step();
  // tour_steps.cpp: each step's actions and text.
  void setup_step(int step);
  QString step_title(int step) const;
  QString step_text(int step) const;
  void ensure_default_models();
  void send_as(ChatMode mode, const QString& role);

  MainWindow& window_;
  StudentComparisonRunner& comparison_;
  QLabel *title_, *body_, *status_;
  QPushButton *back_, *next_;
  QTimer* poll_;
  std::deque<Action> queue_;
  int step_ = 0;
  bool active_ = false;
  QString teacher_path_, student_path_;  // the models loaded now (from the window's reports)
  std::vector<LayerKind> student_layout_;
  QString expecting_;                    // role of the reply the tour sent ("teacher", "student", "pair")
  std::map<QString, GenerationSummary> replies_;  // the tour's last reply per role
};

}  // namespace ds::app
