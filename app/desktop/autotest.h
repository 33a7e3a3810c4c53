// AutoTest: the end-to-end run of the real app (`distilscope --autotest DIR [model]`), used by the
// ctest that starts it under Xvfb. It drives the window like a user: waits for the device, the
// explorer surface and the model, sends a prompt (French and Arabic text), waits for streamed
// tokens, measures the explorer's frame rate idle and while generating, stops a long reply,
// opens every explorer panel and saves a screenshot of each (swapchain readback) plus the Qt
// window (QWidget::grab), exports CSV/JSON/PNG, and fails on any Vulkan validation message.
// Results go to DIR/report.json; the exit code is 0 only when every check passed.
#pragma once
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>

namespace ds::app {

class MainWindow;

struct AutoTestOptions {
  QString out_dir;
  QString prompt = QString::fromUtf8("Bonjour, ça va ? مرحبا بكم. Once upon a time");
  int min_tokens = 4;
  int timeout_s = 300;
};

class AutoTest : public QObject {
  Q_OBJECT
 public:
  AutoTest(MainWindow& window, AutoTestOptions options, QObject* parent = nullptr);
  void start();  // runs from the event loop; quits the application with the result

 private:
  void run();
  bool wait_until(const std::function<bool()>& done, int timeout_ms);
  void check(bool ok, const QString& what);
  void screenshot_panels();
  void measure_generation();
  void exports();
  void finish();

  MainWindow& w_;
  AutoTestOptions o_;
  QJsonObject report_;
  QStringList failures_;
  QStringList screenshots_;
};

}  // namespace ds::app
