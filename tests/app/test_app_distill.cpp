// Qt Test: the Distillation dock and the worker bridge with a tiny synthetic teacher. The plan is checked against
// the teacher as typed (the error inline, Start disabled); a two-stage plan started from the dock runs on the
// engine thread and reports every step, each stage begun and done (evaluations before/after, the stage's GGUF) as
// queued signals on the GUI thread; "Load as student" opens that stage's file; Stop (from the step report on the
// worker thread) ends the run after that very step, a checkpoint kept, and Resume finishes it.
#include <QDir>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <QElapsedTimer>

#include <fstream>
#include <optional>

#include "app/desktop/distill/distill_panel.h"
#include "app/desktop/engine_host.h"
#include "distilscope/device.h"
#include "model/synthetic.h"
#define DS_TEST_WAIT_MS 180000
#include "wait_for.h"

using namespace ds;
using namespace ds::app;

namespace {

// One run's reports as they arrive (the collector is the receiver: late reports die with it).
struct Runs : QObject {
  std::vector<DistillStepReport> steps;
  std::vector<DistillStageReport> stages;
  std::optional<DistillSummary> summary;
  bool off_gui_thread = false;
  Runs(EngineWorker* w, DistillPanel& panel, EngineHost& host) {
    connect(&panel, &DistillPanel::startRequested, this, [&host](const DistillRequest& r) { host.distill(r); });
    connect(&panel, &DistillPanel::stopRequested, this, [&host] { host.stopDistill(); });
    connect(w, &EngineWorker::distillStep, this, [this, &panel](const DistillStepReport& s) {
      off_gui_thread |= QThread::currentThread() != qApp->thread();
      steps.push_back(s);
      panel.onStep(s);
    });
    connect(w, &EngineWorker::distillStage, this, [this, &panel](const DistillStageReport& s) {
      stages.push_back(s);
      panel.onStage(s);
    });
    connect(w, &EngineWorker::distillFinished, this, [this, &panel](const DistillSummary& s) {
      summary = s;
      panel.onFinished(s);
    });
  }
};

}  // namespace

class AppDistillTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  QString teacher_path_, corpus_;
  std::unique_ptr<EngineHost> host_;
  ModelReport teacher_;

  QString plan(const QString& stages) const {
    return QString(R"({"data": {"corpus": "%1", "validation_fraction": 0.2},
      "train": {"seq_len": 16, "batch_seqs": 2}, "eval": {"sequences": 2, "decode_tokens": 4},
      "mixer": {"d_state": 8, "window": 4}, "output": {"store": "%2", "checkpoint_interval": 100},
      "stages": %3})")
        .arg(corpus_, dir_.filePath("store.db"), stages);
  }

 private slots:
  void initTestCase() {
    teacher_path_ = dir_.filePath("teacher.gguf");
    ModelConfig c = llama_like(3, 32, 4, 2, 64, 300);
    c.context_train = 256;
    write_synthetic_model(teacher_path_.toStdString(), {c, DType::F32, 5, 0.1f});
    corpus_ = dir_.filePath("corpus.txt");
    std::ofstream f(corpus_.toStdString());
    for (int i = 0; i < 60; ++i) f << "In the beginning " << i << " was the word, and the word was " << i * 7 << ".\n\n";
    f.close();
    host_ = std::make_unique<EngineHost>();
    QObject scope;
    std::optional<ModelReport> loaded;
    connect(host_->worker(), &EngineWorker::modelLoaded, &scope, [&](const ModelReport& r) { loaded = r; });
    host_->openDevice("", false);
    host_->loadModel(teacher_path_);
    QVERIFY(wait_for([&] { return loaded.has_value(); }));
    teacher_ = *loaded;
  }

  void cleanupTestCase() {
    host_->shutdown();
    QCOMPARE(validation_message_count(), uint64_t(0));
  }

  void planIsCheckedAgainstTheTeacher() {
    DistillPanel panel;
    QVERIFY(!panel.startButton()->isEnabled());  // no teacher yet
    panel.setTeacher(teacher_);
    QVERIFY2(panel.planCheck().ok, qPrintable(panel.planCheck().message));  // the default plan fits
    QCOMPARE(panel.planCheck().stages, 2);
    QVERIFY(panel.planText().contains("\"layers\": [1]") && panel.planText().contains("\"layers\": [2]"));
    QVERIFY(panel.startButton()->isEnabled());
    panel.setPlanText(plan(R"([{"layers": [5], "steps": 2}])"));
    QVERIFY(!panel.planCheck().ok);
    QVERIFY2(panel.planCheck().message.contains("stage 0 converts layer 5, but the teacher has 3 layers (0..2)"),
             qPrintable(panel.planCheck().message));
    QVERIFY(!panel.startButton()->isEnabled());
    panel.setPlanText(plan(R"([{"layers": [1], "mixer": "rwkv"}])"));
    QVERIFY2(panel.planCheck().message.contains("stages[0].mixer"), qPrintable(panel.planCheck().message));
  }

  void twoStagesRunReportAndLoadAsStudent() {
    DistillPanel panel;
    panel.setRunsRoot(dir_.filePath("runs"));
    panel.setTeacher(teacher_);
    panel.setPlanText(plan(R"([{"layers": [1], "mixer": "mamba", "steps": 3},
                              {"layers": [2], "mixer": "linear", "steps": 2}])"));
    QVERIFY2(panel.planCheck().ok, qPrintable(panel.planCheck().message));
    Runs runs(host_->worker(), panel, *host_);
    QTest::mouseClick(panel.startButton(), Qt::LeftButton);
    QVERIFY(panel.running());
    QVERIFY(!panel.startButton()->isEnabled() && panel.stopButton()->isEnabled());
    QVERIFY(wait_for([&] { return runs.summary.has_value(); }));
    QVERIFY2(!runs.summary->failed, qPrintable(runs.summary->message));
    QVERIFY(!runs.summary->stopped);
    QCOMPARE(runs.summary->steps_done, 5);
    QVERIFY(!runs.off_gui_thread);
    QCOMPARE(int(runs.steps.size()), 5);
    for (int i = 0; i < 5; ++i) {
      QCOMPARE(runs.steps[size_t(i)].global_step, i + 1);
      QCOMPARE(runs.steps[size_t(i)].stage, i < 3 ? 0 : 1);
      QVERIFY(runs.steps[size_t(i)].loss > 0);
    }
    QCOMPARE(int(runs.stages.size()), 4);  // begun 0, done 0, begun 1, done 1
    for (int s = 0; s < 2; ++s) {
      const DistillStageReport& begun = runs.stages[size_t(2 * s)];
      const DistillStageReport& done = runs.stages[size_t(2 * s + 1)];
      QVERIFY(!begun.done && done.done);
      QCOMPARE(done.layers, std::vector<int>{s + 1});
      QVERIFY(begun.before.valid && done.after.valid && done.after.perplexity > 1);
      QVERIFY(done.decode_tokens_per_s > 0);
      QCOMPARE(done.model, QDir(panel.runDir()).filePath(QString("stage-%1.gguf").arg(s)));
      QVERIFY(QFileInfo::exists(done.model));
    }
    QVERIFY(panel.runDir().startsWith(dir_.filePath("runs/distill/")));
    QCOMPARE(panel.table()->rowCount(), 2);
    QVERIFY(panel.table()->item(1, 5)->text().contains(QString::fromUtf8("→")));  // top-1 before -> after
    QVERIFY(panel.startButton()->isEnabled() && !panel.stopButton()->isEnabled());

    // "Load as student" opens the stage's model in the student slot.
    QSignalSpy load(&panel, &DistillPanel::loadStudentRequested);
    QVERIFY(panel.loadButton(1) && panel.loadButton(1)->isEnabled());  // offered once the run has ended
    QTest::mouseClick(panel.loadButton(1), Qt::LeftButton);
    QCOMPARE(load.count(), 1);
    const QString path = load.at(0).at(0).toString();
    QCOMPARE(path, runs.stages[3].model);
    QObject scope;
    std::optional<ModelReport> student;
    connect(host_->worker(), &EngineWorker::modelLoaded, &scope, [&](const ModelReport& r) { student = r; });
    host_->loadModel(path, 1);
    QVERIFY(wait_for([&] { return student.has_value(); }));
    QCOMPARE(student->slot, 1);
    QCOMPARE(student->layout, (std::vector<LayerKind>{LayerKind::Attention, LayerKind::Mamba, LayerKind::Linear}));
  }

  void stopAfterOneStepThenResume() {
    DistillPanel panel;
    panel.setRunsRoot(dir_.filePath("runs"));
    panel.setTeacher(teacher_);
    panel.setPlanText(plan(R"([{"layers": [0], "mixer": "mamba", "steps": 6}])"));
    Runs runs(host_->worker(), panel, *host_);
    // Stop requested while the worker reports step 2 (on its thread): the run ends after that very step.
    QObject direct;
    connect(host_->worker(), &EngineWorker::distillStep, &direct, [this](const DistillStepReport& s) {
      if (s.step == 2) host_->stopDistill();
    }, Qt::DirectConnection);
    QTest::mouseClick(panel.startButton(), Qt::LeftButton);
    QVERIFY(wait_for([&] { return runs.summary.has_value(); }));
    QVERIFY2(!runs.summary->failed, qPrintable(runs.summary->message));
    QVERIFY(runs.summary->stopped);
    QCOMPARE(runs.summary->steps_done, 2);
    QCOMPARE(int(runs.steps.size()), 2);
    QVERIFY(QFileInfo::exists(QDir(panel.runDir()).filePath("stage-0.checkpoint.gguf")));
    QVERIFY(!QFileInfo::exists(QDir(panel.runDir()).filePath("stage-0.gguf")));
    QVERIFY(panel.resumeButton()->isEnabled());
    QVERIFY(panel.statusText().contains("Stopped after step 2"));

    disconnect(host_->worker(), nullptr, &direct, nullptr);
    runs.summary.reset();
    runs.steps.clear();
    QTest::mouseClick(panel.resumeButton(), Qt::LeftButton);
    QVERIFY(wait_for([&] { return runs.summary.has_value(); }));
    QVERIFY2(!runs.summary->failed, qPrintable(runs.summary->message));
    QVERIFY(!runs.summary->stopped);
    QCOMPARE(int(runs.steps.size()), 4);
    QCOMPARE(runs.steps.front().step, 3);  // continued from the checkpoint
    QVERIFY(QFileInfo::exists(QDir(panel.runDir()).filePath("stage-0.gguf")));
    QVERIFY(panel.loadButton(0));

    // Stop from the GUI thread (the dock's button) mid-run: the run stops before its end, resumable.
    runs.summary.reset();
    runs.steps.clear();
    panel.setPlanText(plan(R"([{"layers": [0], "mixer": "linear", "steps": 40}])"));
    QTest::mouseClick(panel.startButton(), Qt::LeftButton);
    QVERIFY(wait_for([&] { return !runs.steps.empty(); }));
    QTest::mouseClick(panel.stopButton(), Qt::LeftButton);
    QVERIFY(wait_for([&] { return runs.summary.has_value(); }, 30000));
    QVERIFY(runs.summary->stopped);
    QVERIFY(runs.summary->steps_done < 40);
  }
};

QTEST_MAIN(AppDistillTest)
#include "test_app_distill.moc"
