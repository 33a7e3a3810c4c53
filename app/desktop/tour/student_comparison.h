// StudentComparisonRunner: several students against the teacher on one token stream (Chat >
// Compare students..., the guided tour's second step). It asks the engine to run a Pair per student
// (EngineWorker::compareStudents), puts each result into the divergence timeline as it comes (one
// colour per student, the legend with mean KL and top-1 agreement) and keeps the results.
#pragma once
#include <QObject>
#include <QStringList>

#include <vector>

#include "app/desktop/engine_types.h"

namespace ds::app {

class MainWindow;

class StudentComparisonRunner : public QObject {
  Q_OBJECT
 public:
  explicit StudentComparisonRunner(MainWindow& window);

  // The embedded Mamba students (assets/models/student-mamba-{25,50,75}.gguf) that exist.
  static QStringList defaultStudents();

  // Queues the comparison (the teacher answers `prompt` greedily, at most `max_tokens` tokens);
  // false, with the reason in the status bar, when no teacher is loaded or a comparison runs.
  bool start(const QString& prompt, const QStringList& students, int max_tokens);
  bool running() const { return request_ != 0; }
  const std::vector<StudentComparison>& results() const { return results_; }
  // "student-mamba-25: mean KL 0.123, top-1 agreement 85 %" per compared student.
  QStringList summaries() const;

 signals:
  void progressed(int done, int count);
  void finished(int compared);

 private:
  MainWindow& window_;
  uint64_t request_ = 0;
  std::vector<StudentComparison> results_;
};

// Mean KL(teacher || student) and top-1 agreement (0..1) over a comparison's reply tokens.
struct DivergenceSummary {
  double mean_kl = 0, agreement = 0;
  int tokens = 0;
};
DivergenceSummary summarize(const DivergenceSnapshot& d);

}  // namespace ds::app
