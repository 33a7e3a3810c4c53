// Qt Test: the teaching features' parts below the window, with the real default models of
// assets/models/ (skipped when they are absent). Comparing several students runs one Pair per
// student on the engine thread and every student reads the same teacher tokens; a missing file or a
// student with another tokenizer gives a readable failure and the comparison still finishes; the
// timeline keeps a comparison's students in order and ignores other requests; the compare dialog
// ticks the Mamba students; the window has the menu entries; presentation mode scales the font and
// is kept in the settings; the legend's summary is the mean KL and top-1 agreement.
#include <QAction>
#include <QApplication>
#include <QFileInfo>
#include <QMenu>
#include <QMenuBar>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <QElapsedTimer>

#include <cmath>
#include <optional>

#include "app/desktop/engine_host.h"
#include "app/desktop/explorer/explorer_data.h"
#include "app/desktop/explorer/imgui_window.h"
#include "app/desktop/main_window.h"
#include "app/desktop/tour/presentation.h"
#include "app/desktop/tour/teaching_features.h"
#include "app/desktop/tour/compare_dialog.h"
#include "app/desktop/tour/student_comparison.h"
#include "distilscope/device.h"
#include "model/synthetic.h"
#include "util/paths.h"
#include "wait_for.h"

using namespace ds;
using namespace ds::app;

namespace {

QString asset(const char* name) {
  auto p = default_model(name);
  return p ? QString::fromStdString(*p) : QString();
}

// One comparison's reports, collected on the GUI thread (the receiver of its connections).
struct Comparison : QObject {
  uint64_t id = 0;
  std::vector<StudentComparison> results;
  std::optional<int> finished;
  QStringList failures;
  explicit Comparison(EngineWorker* w) {
    connect(w, &EngineWorker::studentCompared, this, [this](const StudentComparison& r) {
      if (r.request == id) results.push_back(r);
    });
    connect(w, &EngineWorker::comparisonFinished, this, [this](quint64 request, int n) {
      if (request == id) finished = n;
    });
    connect(w, &EngineWorker::failed, this, [this](const QString& what, const QString& m, quint64) {
      failures << what + ": " + m;
    });
  }
};

}  // namespace

class AppTeachingTest : public QObject {
  Q_OBJECT
  std::unique_ptr<EngineHost> host_;
  QTemporaryDir dir_;

  GenerationRequest request(int max_tokens) {
    GenerationRequest r;
    r.messages = {{Role::User, "And God said"}};
    r.max_tokens = max_tokens;
    r.mode = ChatMode::Pair;
    return r;
  }

 private slots:
  void initTestCase() {
    if (asset("teacher").isEmpty() || StudentComparisonRunner::defaultStudents().size() != 3)
      QSKIP("the default teacher and Mamba students are not in assets/models/");
    host_ = std::make_unique<EngineHost>();
    QObject scope;
    std::optional<ModelReport> loaded;
    connect(host_->worker(), &EngineWorker::modelLoaded, &scope, [&](const ModelReport& r) { loaded = r; });
    host_->openDevice("", false);
    host_->loadModel(asset("teacher"));
    QVERIFY(wait_for([&] { return loaded.has_value(); }));
  }

  void cleanupTestCase() {
    if (host_) host_->shutdown();
    QCOMPARE(validation_message_count(), uint64_t(0));
  }

  void studentsReadOneTokenStream() {
    const QStringList students = {asset("student-mamba-25"), asset("student-mamba-75")};
    Comparison c(host_->worker());
    ExplorerData data;
    c.id = host_->compareStudents(request(6), students);
    data.beginComparison(c.id);
    QVERIFY(wait_for([&] { return c.finished.has_value(); }));
    QVERIFY2(c.failures.isEmpty(), qPrintable(c.failures.join("; ")));
    QCOMPARE(*c.finished, 2);
    QCOMPARE(int(c.results.size()), 2);
    for (int i = 0; i < 2; ++i) {
      const StudentComparison& r = c.results[size_t(i)];
      QCOMPARE(r.index, i);
      QCOMPARE(r.count, 2);
      QCOMPARE(r.path, students[i]);
      QCOMPARE(r.name, QFileInfo(students[i]).completeBaseName());
      QCOMPARE(QString::fromStdString(r.divergence.student), r.name);
      QVERIFY(!r.reply.empty() && r.reply.size() <= 6);
      QCOMPARE(r.divergence.tokens.size(), r.reply.size());
      for (size_t t = 0; t < r.reply.size(); ++t) {
        QCOMPARE(r.divergence.tokens[t].token, r.reply[t]);
        QVERIFY(std::isfinite(r.divergence.tokens[t].kl) && r.divergence.tokens[t].kl >= -1e-4f);
      }
      // prompt labels, then one per reply token
      QCOMPARE(r.divergence.token_labels.size(), size_t(r.divergence.tokens.back().position + 2));
      data.addComparedStudent(r.request, r.divergence);
    }
    QVERIFY(c.results[0].reply == c.results[1].reply);  // the same teacher tokens for both students
    QCOMPARE(c.results[0].teacher_text, c.results[1].teacher_text);
    // The timeline: the comparison's students in order; another request's result is ignored.
    data.addComparedStudent(c.id + 100, c.results[0].divergence);
    QCOMPARE(int(data.divergence().size()), 2);
    QVERIFY(data.divergence()[0].student == "student-mamba-25");
    QVERIFY(data.divergence()[1].student == "student-mamba-75");
    data.beginComparison(c.id + 1);
    QVERIFY(data.divergence().empty());
  }

  // A missing file, then a student with another tokenizer: a readable failure naming the file, the
  // students before it compared, and the comparison finished either way.
  void badStudentsFailReadably() {
    Comparison missing(host_->worker());
    missing.id = host_->compareStudents(request(3), {dir_.filePath("no-such-student.gguf")});
    QVERIFY(wait_for([&] { return missing.finished.has_value(); }));
    QCOMPARE(*missing.finished, 0);
    QCOMPARE(missing.failures.size(), 1);
    QVERIFY2(missing.failures[0].contains("no-such-student.gguf"), qPrintable(missing.failures[0]));

    const QString other = dir_.filePath("other-tokenizer.gguf");
    SyntheticSpec spec;
    spec.config = llama_like(2, 64, 4, 2, 128, 320);
    write_synthetic_model(other.toStdString(), spec);
    Comparison mixed(host_->worker());
    mixed.id = host_->compareStudents(request(3), {asset("student-mamba-50"), other});
    QVERIFY(wait_for([&] { return mixed.finished.has_value(); }));
    QCOMPARE(*mixed.finished, 1);
    QCOMPARE(int(mixed.results.size()), 1);
    QCOMPARE(mixed.failures.size(), 1);
    QVERIFY2(mixed.failures[0].contains("other-tokenizer.gguf"), qPrintable(mixed.failures[0]));
  }

  void dialogTicksTheMambaStudents() {
    CompareDialog dialog("In the beginning", StudentComparisonRunner::defaultStudents());
    QCOMPARE(dialog.prompt(), QString("In the beginning"));
    QStringList names;
    for (const QString& s : dialog.students()) names << QFileInfo(s).completeBaseName();
    QCOMPARE(names, QStringList({"student-mamba-25", "student-mamba-50", "student-mamba-75"}));
  }

  // The window offscreen (no explorer surface): the menu entries, and presentation mode scaling the
  // application font, checking its action and kept in the settings (read back at the next start).
  void windowHasTheTeachingFeatures() {
    QTemporaryDir config;
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, config.path());
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, config.path());
    StartOptions o;
    o.store_path = config.filePath("store.db");
    o.show_dialogs = false;
    const double base = QApplication::font().pointSizeF();
    {
      MainWindow w(o);
      auto action = [&](const QString& menu, const QString& text) -> QAction* {
        for (QAction* m : w.menuBar()->actions())
          if (m->text() == menu && m->menu())
            for (QAction* a : m->menu()->actions())
              if (a->text() == text) return a;
        return nullptr;
      };
      QVERIFY(action("&Chat", "Co&mpare students..."));
      QAction* present = action("&View", "P&resentation mode");
      QVERIFY(present && present->isCheckable() && present->shortcut() == QKeySequence(Qt::Key_F5));
      QAction* help = nullptr;
      for (QAction* m : w.menuBar()->actions())
        if (m->text() == "&Help") help = m;
      QVERIFY(help && help->menu()->actions().value(0)->text() == "&Guided tour");

      PresentationMode& p = w.teaching().presentation();
      QVERIFY(!p.on());
      present->trigger();  // as the menu does
      QVERIFY(p.on() && present->isChecked());
      QVERIFY(std::fabs(QApplication::font().pointSizeF() - base * k_presentation_scale) < 0.01);
      QVERIFY(QSettings().value("view/presentation").toBool());
    }
    {
      MainWindow again(o);  // the next start: presentation mode again, from the settings
      QVERIFY(again.teaching().presentation().on());
      again.teaching().presentation().set(false);
      QVERIFY(std::fabs(QApplication::font().pointSizeF() - base) < 0.01);
      QVERIFY(!QSettings().value("view/presentation").toBool());
    }
  }

  void summaryIsMeanKlAndAgreement() {
    DivergenceSnapshot d;
    for (float kl : {0.5f, 1.5f, 1.0f}) {
      TokenDivergence t;
      t.kl = kl;
      t.top1_agree = kl < 1.2f;
      d.tokens.push_back(t);
    }
    const DivergenceSummary s = summarize(d);
    QCOMPARE(s.tokens, 3);
    QVERIFY(std::fabs(s.mean_kl - 1.0) < 1e-6);
    QVERIFY(std::fabs(s.agreement - 2.0 / 3.0) < 1e-6);
    QCOMPARE(summarize(DivergenceSnapshot{}).tokens, 0);
  }
};

QTEST_MAIN(AppTeachingTest)
#include "test_app_teaching.moc"
