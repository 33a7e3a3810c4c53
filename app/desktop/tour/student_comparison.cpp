// StudentComparisonRunner: the request, the results into ExplorerData, progress in the status bar.
#include "app/desktop/tour/student_comparison.h"

#include <QFileInfo>
#include <QStatusBar>

#include <algorithm>
#include <cstdio>

#include "app/desktop/main_window.h"
#include "util/paths.h"

namespace ds::app {

namespace {
// Rounded as the timeline's legend rounds it (printf's %.0f), so both say the same number.
QString percent(double fraction) {
  char text[16];
  std::snprintf(text, sizeof text, "%.0f", fraction * 100);  // Qt's formatting rounds halves the other way
  return QString::fromLatin1(text);
}
}  // namespace

DivergenceSummary summarize(const DivergenceSnapshot& d) {
  DivergenceSummary s;
  for (const TokenDivergence& t : d.tokens) {
    s.mean_kl += double(t.kl);
    s.agreement += t.top1_agree ? 1.0 : 0.0;
  }
  s.tokens = int(d.tokens.size());
  if (s.tokens > 0) {
    s.mean_kl /= s.tokens;
    s.agreement /= s.tokens;
  }
  return s;
}

StudentComparisonRunner::StudentComparisonRunner(MainWindow& window) : QObject(&window), window_(window) {
  EngineWorker* w = window_.host().worker();
  connect(w, &EngineWorker::studentCompared, this, [this](const StudentComparison& r) {
    if (r.request != request_) return;
    results_.push_back(r);
    window_.explorerData().addComparedStudent(r.request, r.divergence);
    const DivergenceSummary s = summarize(r.divergence);
    window_.statusBar()->showMessage(tr("Compared %1 (%2 of %3): mean KL %4 nats, top-1 agreement %5 %")
                                         .arg(r.name)
                                         .arg(r.index + 1)
                                         .arg(r.count)
                                         .arg(s.mean_kl, 0, 'f', 3)
                                         .arg(percent(s.agreement)),
                                     10000);
    emit progressed(r.index + 1, r.count);
  });
  connect(w, &EngineWorker::comparisonFinished, this, [this](quint64 request, int compared) {
    if (request != request_) return;
    request_ = 0;
    emit finished(compared);
  });
}

QStringList StudentComparisonRunner::defaultStudents() {
  QStringList out;
  for (const char* name : {"student-mamba-25", "student-mamba-50", "student-mamba-75"})
    if (auto p = default_model(name)) out << QString::fromStdString(*p);
  return out;
}

bool StudentComparisonRunner::start(const QString& prompt, const QStringList& students, int max_tokens) {
  auto refuse = [this](const QString& why) {
    window_.statusBar()->showMessage(tr("Compare students: %1").arg(why), 10000);
    return false;
  };
  if (running()) return refuse(tr("a comparison is already running"));
  if (!window_.modelLoaded()) return refuse(tr("open the teacher first (File > Open GGUF...)"));
  if (students.isEmpty()) return refuse(tr("choose at least one student"));
  if (prompt.trimmed().isEmpty()) return refuse(tr("the prompt is empty"));
  GenerationRequest r;
  r.messages = {{Role::User, prompt.toStdString()}};
  r.sampling.temperature = 0;  // a pair turn is greedy
  r.max_tokens = std::max(1, max_tokens);
  r.mode = ChatMode::Pair;
  results_.clear();
  request_ = window_.host().compareStudents(r, students);
  window_.explorerData().beginComparison(request_);
  window_.showExplorerPanel(int(ui::Panel::Divergence));
  window_.statusBar()->showMessage(tr("Comparing %1 students with the teacher...").arg(students.size()));
  return true;
}

QStringList StudentComparisonRunner::summaries() const {
  QStringList out;
  for (const StudentComparison& r : results_) {
    const DivergenceSummary s = summarize(r.divergence);
    out << tr("%1: mean KL %2 nats, top-1 agreement %3 %")
               .arg(r.name)
               .arg(s.mean_kl, 0, 'f', 3)
               .arg(percent(s.agreement));
  }
  return out;
}

}  // namespace ds::app
