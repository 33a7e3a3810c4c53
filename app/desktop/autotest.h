// AutoTest: the end-to-end run of the real app (`distilscope --autotest DIR [model]`), used by the
// ctest that starts it under Xvfb. It drives the window like a user: waits for the device, the
// explorer surface and the model, sends a prompt (French and Arabic text), waits for streamed
// tokens, opens every explorer panel and saves a screenshot of each (swapchain readback) plus the
// Qt window (QWidget::grab), exports CSV/JSON/PNG, measures the explorer's frame rate while
// panning and zooming a 384-token attention map (idle, then while a long reply is generated on
// the same device), stops that reply, and fails on any Vulkan validation message. The probe panels
// must show the model's real captures (checked against the model's shape and the probes' invariants);
// with a student (--autotest-pair) a pair turn must fill the divergence timeline and mark the chat's
// tokens; with a Hugging Face folder (--synthetic writes one) the folder must open and answer. With
// --autotest-distill it runs the Distillation dock's default plan instead (autotest_distill.cpp).
// Results go to DIR/report.json; the exit code is 0 only when every check passed.
#pragma once
#include <QImage>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>

namespace ds::app {

class MainWindow;
struct GenerationSummary;

struct AutoTestOptions {
  QString out_dir;
  QString model;  // what was asked to open (for the error check)
  QString prompt = QString::fromUtf8("Bonjour, ça va ? مرحبا بكم. Once upon a time");
  int min_tokens = 4;
  int timeout_s = 300;
  // "chat": a model opens and the whole scenario runs; "welcome": no model, the welcome page;
  // "error": the model cannot be opened, a readable error and the welcome page, no crash.
  QString expect = "chat";
  QString student;    // a student to open beside the model for a pair turn ("" : none)
  bool student_is_layer1_mamba = false;  // the student is the model with only layer 1 linearized (exact checks)
  bool measure_fps = true;               // the frame-rate scenario (the default-models run reports none)
  QString hf_folder;  // a Hugging Face folder to open at the end ("" : none)
  bool distill = false;  // the distillation scenario instead of the chat one
  bool tour = false;  // walk the guided tour over the default models instead (tour/autotest_tour.cpp)
};

class AutoTest : public QObject {
  Q_OBJECT
 public:
  AutoTest(MainWindow& window, AutoTestOptions options, QObject* parent = nullptr);
  void start();  // runs from the event loop; quits the application with the result

 private:
  void run();
  void run_without_model();
  QImage capture();
  bool wait_until(const std::function<bool()>& done, int timeout_ms);
  void check(bool ok, const QString& what);
  void screenshot_panels();
  void interact(int ms);
  void check_fps(double fps, double load_per_core, const QString& what, double min_fps);
  void measure_frame_rates();
  void exports();
  void redock();
  void save_window(const QString& file);
  void finish();
  // autotest_probes.cpp
  void check_probe_data(int prompt_tokens, int context_tokens);
  void run_pair();
  void open_hf_folder();
  bool send_and_wait(const QString& prompt, int max_tokens, GenerationSummary* summary);
  // autotest_distill.cpp
  void run_distill();
  // tour/autotest_tour.cpp
  void run_tour();
  void check_tour_step(int step);

  MainWindow& w_;
  AutoTestOptions o_;
  QJsonObject report_;
  QStringList failures_;
  QStringList screenshots_;
};

}  // namespace ds::app
