// AutoTest: the scripted end-to-end run (see autotest.h). A test driver may spin local event loops
// while it waits; the app itself never does.
#include "app/desktop/autotest.h"

#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QImage>
#include <QPainter>
#include <QMouseEvent>
#include <QWheelEvent>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QMap>
#include <QSet>
#include <QThread>
#include <QTimer>

#include <unistd.h>

#include <cmath>
#include <memory>

#include "app/desktop/chat/chat_panel.h"
#include "app/desktop/explorer/imgui_window.h"
#include "app/desktop/main_window.h"
#include "distilscope/device.h"
#include "ui/synthetic.h"

namespace ds::app {

namespace {
// CPU time of this process (all threads: GUI, engine, lavapipe's) in milliseconds.
double process_cpu_ms() {
  QFile f("/proc/self/stat");
  if (!f.open(QIODevice::ReadOnly)) return 0;
  const QString stat = QString(f.readAll());
  const QStringList fields = stat.mid(stat.lastIndexOf(')') + 2).split(' ');  // after "pid (comm) "
  if (fields.size() < 13) return 0;
  return (fields[11].toDouble() + fields[12].toDouble()) * 1000.0 / double(sysconf(_SC_CLK_TCK));  // utime + stime
}

// CPU time per thread of this process (name, ms) by thread id: where a frame's time goes.
QMap<QString, QPair<QString, double>> thread_cpu_ms() {
  QMap<QString, QPair<QString, double>> out;
  for (const QString& tid : QDir("/proc/self/task").entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
    QFile f("/proc/self/task/" + tid + "/stat");
    if (!f.open(QIODevice::ReadOnly)) continue;
    const QString stat = QString(f.readAll());
    const int open = stat.indexOf('('), close = stat.lastIndexOf(')');
    const QStringList fields = stat.mid(close + 2).split(' ');
    if (open < 0 || fields.size() < 13) continue;
    out[tid] = {stat.mid(open + 1, close - open - 1),
                (fields[11].toDouble() + fields[12].toDouble()) * 1000.0 / double(sysconf(_SC_CLK_TCK))};
  }
  return out;
}

struct Costs {
  ImGuiWindow::FrameStats frames;
  double cpu_ms = 0;
  QMap<QString, QPair<QString, double>> threads;
};
Costs costs_now(ImGuiWindow* ex) { return {ex->frameStats(), process_cpu_ms(), thread_cpu_ms()}; }

// Frame costs between two readings, for the report. CPU per frame (the whole process while it
// draws, which includes the engine when generating) does not depend on other processes' load.
QJsonObject frame_costs(const Costs& ca, const Costs& cb, double ms) {
  const ImGuiWindow::FrameStats &a = ca.frames, &b = cb.frames;
  const double n = double(std::max<uint64_t>(b.frames - a.frames, 1));
  QJsonObject o;
  o["process_cpu_ms_per_frame"] = (cb.cpu_ms - ca.cpu_ms) / n;
  o["frames"] = qint64(b.frames - a.frames);
  o["frames_per_s"] = double(b.frames - a.frames) * 1000.0 / ms;
  o["build_ms_per_frame"] = (b.build_ms - a.build_ms) / n;
  o["record_submit_present_ms_per_frame"] = (b.render_ms - a.render_ms) / n;
  o["ticks_gpu_still_busy"] = qint64(b.busy_ticks - a.busy_ticks);
  o["ticks_unchanged"] = qint64(b.unchanged - a.unchanged);
  o["ticks_waiting_for_engine_turn"] = qint64(b.turn_waits - a.turn_waits);
  o["ticks_paced_for_engine"] = qint64(b.paced - a.paced);
  QJsonObject threads;  // CPU ms per second of wall time, by thread name (summed over threads of one name)
  for (auto it = cb.threads.begin(); it != cb.threads.end(); ++it) {
    const double before = ca.threads.contains(it.key()) ? ca.threads[it.key()].second : 0.0;
    const double per_s = (it.value().second - before) * 1000.0 / ms;
    if (per_s >= 1.0) threads[it.value().first] = threads[it.value().first].toDouble() + per_s;
  }
  o["thread_cpu_ms_per_s"] = threads;
  o["acquire_ms_per_frame"] = (b.acquire_ms - a.acquire_ms) / n;
  o["record_ms_per_frame"] = (b.record_ms - a.record_ms) / n;
  o["submit_ms_per_frame"] = (b.submit_ms - a.submit_ms) / n;
  o["present_ms_per_frame"] = (b.present_ms - a.present_ms) / n;
  o["gpu_ms_per_frame"] = (b.gpu_ms - a.gpu_ms) / n;
  return o;
}

// Distinct colours in a sample of pixels: a blank or single-colour image has very few.
int distinct_colors(const QImage& img) {
  QSet<QRgb> seen;
  for (int y = 0; y < img.height(); y += 3)
    for (int x = 0; x < img.width(); x += 3) seen.insert(img.pixel(x, y));
  return int(seen.size());
}
}  // namespace

AutoTest::AutoTest(MainWindow& window, AutoTestOptions options, QObject* parent)
    : QObject(parent), w_(window), o_(std::move(options)) {}

void AutoTest::start() {
  QTimer::singleShot(0, this, &AutoTest::run);
}

// The explorer's next frame (a swapchain readback); null after 10 s without one. The callback
// owns its result, so a late frame cannot write into a finished caller.
QImage AutoTest::capture() {
  ImGuiWindow* ex = w_.explorer();
  if (!ex) return {};
  auto result = std::make_shared<QImage>();
  ex->captureNextFrame([result](const QImage& i) { *result = i; });
  wait_until([&] { return !result->isNull(); }, 10000);
  return *result;
}

bool AutoTest::wait_until(const std::function<bool()>& done, int timeout_ms) {
  QElapsedTimer t;
  t.start();
  while (!done()) {
    if (t.elapsed() > timeout_ms) return false;
    QEventLoop loop;
    QTimer::singleShot(20, &loop, &QEventLoop::quit);
    loop.exec();
  }
  return true;
}

void AutoTest::check(bool ok, const QString& what) {
  if (!ok) failures_ << what;
  std::fprintf(stderr, "[autotest] %s: %s\n", ok ? "ok  " : "FAIL", qPrintable(what));
}

void AutoTest::run_without_model() {
  const bool want_error = o_.expect == "error";
  const bool settled = wait_until(
      [&] { return w_.explorer() && (want_error ? !w_.errors().isEmpty() : true); }, 120000);
  wait_until([] { return false; }, 1500);  // let a (wrong) model load happen if it would
  check(settled, "device and explorer surface ready");
  check(!w_.modelLoaded(), "no model is loaded");
  check(w_.welcomeVisible(), "the welcome page is shown");
  if (want_error) {
    const QString all = w_.errors().join("; ");
    check(!all.isEmpty() && all.contains(QFileInfo(o_.model).fileName()),
          "a readable error names the file: " + all.left(300));
  } else {
    check(w_.errors().isEmpty(), "no errors (" + w_.errors().join("; ") + ")");
  }
  save_window("window.png");
  finish();
}

void AutoTest::run() {
  QDir().mkpath(o_.out_dir);
  if (o_.expect != "chat") return run_without_model();
  if (o_.tour) return run_tour();
  QElapsedTimer clock;
  clock.start();
  const bool ready = wait_until([&] { return (w_.explorer() && w_.modelLoaded()) || !w_.errors().isEmpty(); }, 180000);
  check(ready && w_.errors().isEmpty(), "device, explorer surface and model ready (" +
                                            (w_.errors().isEmpty() ? QString("no errors") : w_.errors().join("; ")) + ")");
  if (!w_.explorer() || !w_.modelLoaded()) return finish();
  report_["startup_s"] = double(clock.elapsed()) / 1000.0;
  report_["present_mode"] = w_.explorer()->presentMode();
  report_["font"] = w_.explorer()->fontFile();
  check(!w_.explorer()->fontFile().isEmpty(), "ImGui uses a real font file with the label glyph ranges");
  if (o_.distill) {
    run_distill();
    return finish();
  }

  // 1. A chat turn with French and Arabic text; tokens stream into the conversation.
  int tokens = 0;
  bool finished = false;
  GenerationSummary summary;
  // `scope` receives these connections: reports still queued when it goes are dropped with it.
  auto scope = std::make_unique<QObject>();
  connect(w_.host().worker(), &EngineWorker::tokenGenerated, scope.get(), [&](const TokenChunk&) { ++tokens; });
  connect(&w_.chat(), &ChatController::replyFinished, scope.get(), [&](const GenerationSummary& s) {
    finished = true;
    summary = s;
  });
  GenerationSettings settings;
  settings.sampling.temperature = 0;
  settings.max_tokens = 48;
  w_.chat().setSettings(settings);
  check(w_.chat().send(o_.prompt), "prompt sent");
  check(wait_until([&] { return finished; }, 120000), "reply finished");
  report_["reply_tokens"] = tokens;
  report_["reply_stop_reason"] = summary.stop_reason;
  report_["reply_text"] = w_.chat().conversation()->rowCount() > 0
                              ? w_.chat().conversation()->entry(w_.chat().conversation()->rowCount() - 1).text
                              : QString();
  check(tokens >= std::min(o_.min_tokens, summary.generated) && summary.generated > 0,
        QString("tokens streamed to the chat (%1)").arg(tokens));
  w_.chatPanel()->grab().save(o_.out_dir + "/chat.png");
  screenshots_ << "chat.png";

  scope.reset();
  report_["reply_prompt_tokens"] = summary.prompt_tokens;
  check_probe_data(summary.prompt_tokens, summary.prompt_tokens + summary.generated);
  screenshot_panels();
  if (!o_.student.isEmpty()) run_pair();
  redock();
  exports();
  if (o_.measure_fps) measure_frame_rates();
  if (!o_.hf_folder.isEmpty()) open_hf_folder();
  finish();
}

// Drives the explorer like a user exploring a map: zooms in with the wheel, then drags (pans) in a
// circle and hovers, so every frame has new content. Runs `ms` milliseconds.
void AutoTest::interact(int ms) {
  ImGuiWindow* ex = w_.explorer();
  const QPointF center(ex->width() * 0.5, ex->height() * 0.65);
  auto send_mouse = [&](QEvent::Type type, QPointF p, Qt::MouseButton b, Qt::MouseButtons held) {
    QMouseEvent e(type, p, ex->mapToGlobal(p), b, held, Qt::NoModifier);
    QCoreApplication::sendEvent(ex, &e);
  };
  send_mouse(QEvent::MouseMove, center, Qt::NoButton, Qt::NoButton);
  for (int i = 0; i < 6; ++i) {
    QWheelEvent e(center, ex->mapToGlobal(center), {}, {0, 120}, Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(ex, &e);
    wait_until([] { return false; }, 20);
  }
  send_mouse(QEvent::MouseButtonPress, center, Qt::LeftButton, Qt::LeftButton);
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) {
    const double a = double(t.elapsed()) / 400.0;
    const QPointF p = center + QPointF(std::cos(a) * 60.0, std::sin(a) * 40.0);
    send_mouse(QEvent::MouseMove, p, Qt::NoButton, Qt::LeftButton);
    wait_until([] { return false; }, 8);
  }
  send_mouse(QEvent::MouseButtonRelease, center, Qt::LeftButton, Qt::NoButton);
}

namespace {
// The 1-minute load average per core, read at the start of a measurement.
double load_per_core() {
  QFile f("/proc/loadavg");
  if (!f.open(QIODevice::ReadOnly)) return 0;
  return QString(f.readAll()).section(' ', 0, 0).toDouble() / std::max(1, QThread::idealThreadCount());
}
}  // namespace

// Frame rates are judged against `min_fps` unless other processes already load the machine
// beyond its cores (then they are reported, not judged: the test would measure the neighbours).
void AutoTest::check_fps(double fps, double load, const QString& what, double min_fps) {
  const QString msg = QString("explorer frame rate %1: %2 frames/s (>= %3; load %4 per core)")
                          .arg(what)
                          .arg(fps, 0, 'f', 1)
                          .arg(min_fps, 0, 'f', 0)
                          .arg(load, 0, 'f', 2);
  if (fps >= min_fps || load <= 1.0) return check(fps >= min_fps, msg);
  std::fprintf(stderr, "[autotest] note: %s - machine overloaded, not judged\n", qPrintable(msg));
  report_["fps_not_judged"] = report_["fps_not_judged"].toString() + msg + "; ";
}

void AutoTest::measure_frame_rates() {
  ImGuiWindow* ex = w_.explorer();
  // Hundreds of tokens: a 384-token attention snapshot, one map filling the panel.
  const int n = 384;
  AttentionSnapshot big = ui::synthetic_attention(4, 8, n, 11, {}, 1);
  w_.explorerData().setAttention(big, std::nullopt);
  w_.showExplorerPanel(int(ui::Panel::Attention));
  auto& view = ex->workspaceState().attention;
  view = ui::AttentionView{};
  view.compare = false;
  wait_until([] { return false; }, 500);
  QFile loadavg("/proc/loadavg");
  if (loadavg.open(QIODevice::ReadOnly)) report_["load_average_at_start"] = QString(loadavg.readAll()).trimmed();

  uint64_t f0 = ex->framesPresented();
  auto s0 = costs_now(ex);
  double load = load_per_core();
  QElapsedTimer t;
  t.start();
  interact(3000);
  const double idle_fps = double(ex->framesPresented() - f0) * 1000.0 / double(t.elapsed());
  report_["frames_pan_zoom_384_tokens"] = frame_costs(s0, costs_now(ex), double(t.elapsed()));
  report_["fps_pan_zoom"] = idle_fps;
  check_fps(idle_fps, load, QString("panning/zooming a %1-token map").arg(n), 30.0);
  const QImage zoomed = capture();
  if (!zoomed.isNull() && zoomed.save(o_.out_dir + "/panel_attention_384_zoomed.png"))
    screenshots_ << "panel_attention_384_zoomed.png";

  // The same while the engine generates a long reply on the same device and queue; then Stop.
  int tokens = 0;
  bool finished = false;
  GenerationSummary summary;
  QObject scope;  // receiver of this function's connections (dropped with it)
  connect(w_.host().worker(), &EngineWorker::tokenGenerated, &scope, [&](const TokenChunk&) { ++tokens; });
  connect(&w_.chat(), &ChatController::replyFinished, &scope, [&](const GenerationSummary& s) {
    finished = true;
    summary = s;
  });
  GenerationSettings settings;
  settings.sampling.temperature = 0.8f;
  settings.sampling.seed = 3;
  settings.max_tokens = 100000;  // until the context is full or Stop
  w_.chat().setSettings(settings);
  w_.chat().newConversation();
  w_.chat().send("Once upon a time");
  wait_until([&] { return tokens > 0 || finished; }, 60000);
  f0 = ex->framesPresented();
  s0 = costs_now(ex);
  load = load_per_core();
  const int tokens0 = tokens;
  t.restart();
  interact(3000);
  const double gen_ms = double(t.elapsed());
  const double gen_fps = double(ex->framesPresented() - f0) * 1000.0 / gen_ms;
  report_["frames_generating"] = frame_costs(s0, costs_now(ex), gen_ms);
  report_["fps_generating"] = gen_fps;
  report_["tokens_during_measurement"] = tokens - tokens0;
  report_["reply_finished_during_measurement"] = finished;
  // With one queue for engine and UI (lavapipe), frames take turns with the engine's decode chunks
  // (QueueTurns): 31-35 fps measured on a quiet 2-core machine (docs/desktop-app.md), judged against 20
  // there (a regression guard that a loaded CI machine still passes), 30 with a queue of its own.
  report_["ui_queue"] = ex->ownQueue() ? "separate" : "shared with the engine";
  check_fps(gen_fps, load, QString("panning/zooming while generating (%1 tokens meanwhile)").arg(tokens - tokens0),
            ex->ownQueue() ? 30.0 : 20.0);
  if (!finished) {
    QElapsedTimer s;
    s.start();
    w_.chat().stop();
    check(wait_until([&] { return finished; }, 10000), "Stop ends the reply");
    report_["stop_to_finished_ms"] = double(s.elapsed());
    report_["stop_reason"] = summary.stop_reason;
    check(summary.stop_reason == "cancelled", "the stopped reply reports 'cancelled' (" + summary.stop_reason + ")");
  } else {
    report_["stop_reason"] = summary.stop_reason + " (finished before Stop)";
  }
}

void AutoTest::screenshot_panels() {
  ImGuiWindow* ex = w_.explorer();
  struct Shot {
    const char* name;
    ui::Panel panel;
    ui::AttentionMode mode;
  };
  const Shot shots[] = {{"attention_map", ui::Panel::Attention, ui::AttentionMode::Map},
                        {"attention_heads", ui::Panel::Attention, ui::AttentionMode::HeadsGrid},
                        {"attention_overview", ui::Panel::Attention, ui::AttentionMode::Overview},
                        {"activations", ui::Panel::Activations, ui::AttentionMode::Map},
                        {"divergence", ui::Panel::Divergence, ui::AttentionMode::Map},
                        {"throughput", ui::Panel::Throughput, ui::AttentionMode::Map},
                        {"gallery", ui::Panel::Gallery, ui::AttentionMode::Map}};
  for (const Shot& s : shots) {
    w_.showExplorerPanel(int(s.panel));
    ex->workspaceState().attention.mode = s.mode;
    wait_until([&] { return ex->currentPanel() == s.panel; }, 5000);
    wait_until([] { return false; }, 400);  // a few frames to settle
    const QImage img = capture();
    const QString file = QString("panel_%1.png").arg(s.name);
    const bool saved = !img.isNull() && img.save(o_.out_dir + "/" + file);
    const int colors = img.isNull() ? 0 : distinct_colors(img);
    check(saved && colors >= 16, QString("%1: swapchain readback %2x%3, %4 colours").arg(file).arg(img.width())
                                     .arg(img.height()).arg(colors));
    screenshots_ << file;
  }
  save_window("window.png");
}

// The main window as Qt draws it (QWidget::grab), with the explorer's last frame (a swapchain
// readback) painted where its native window sits: grab() cannot see a Vulkan surface.
void AutoTest::save_window(const QString& file) {
  QImage window = w_.grab().toImage();
  if (w_.explorer()) {
    const QImage frame = capture();
    QWidget* container = w_.explorerDock()->widget();
    if (!frame.isNull() && container->isVisible()) {
      QPainter p(&window);
      p.drawImage(QRect(container->mapTo(&w_, QPoint(0, 0)) * window.devicePixelRatio(), frame.size()), frame);
    }
  }
  window.save(o_.out_dir + "/" + file);
  screenshots_ << file;
}

// Floating the explorer dock and docking it back re-parents its native window: the surface is
// destroyed and created again, and the window resized. Frames must still come.
void AutoTest::redock() {
  for (bool floating : {true, false}) {
    w_.explorerDock()->setFloating(floating);
    wait_until([] { return false; }, 800);
    const QImage frame = capture();
    check(!frame.isNull() && distinct_colors(frame) >= 16,
          QString("explorer draws after %1 (%2x%3)").arg(floating ? "floating its dock" : "docking it back")
              .arg(frame.width()).arg(frame.height()));
  }
}

void AutoTest::exports() {
  ImGuiWindow* ex = w_.explorer();
  w_.showExplorerPanel(int(ui::Panel::Attention));
  ex->workspaceState().attention.mode = ui::AttentionMode::Map;
  wait_until([] { return false; }, 300);
  QStringList written;
  QObject scope;
  connect(ex, &ImGuiWindow::exported, &scope, [&](const QString& p) { written << p; });
  for (ui::ExportKind k : {ui::ExportKind::Csv, ui::ExportKind::Json, ui::ExportKind::Png}) {
    const int before = int(written.size());
    ex->requestExport(k);
    const bool ok = wait_until([&] { return written.size() > before; }, 10000);
    check(ok && QFileInfo(written.last()).size() > 0,
          "export " + (ok ? QFileInfo(written.last()).fileName() : QString::number(int(k))));
  }
  QJsonArray files;
  for (const QString& f : written) files << f;
  report_["exports"] = files;
}

void AutoTest::finish() {
  const uint64_t messages = validation_message_count();
  report_["validation_messages"] = qint64(messages);
  check(messages == 0, QString("no Vulkan validation messages (%1%2)")
                           .arg(messages)
                           .arg(messages ? "; last: " + QString::fromStdString(last_validation_message()) : QString()));
  if (w_.explorer()) report_["frames_presented"] = qint64(w_.explorer()->framesPresented());
  QJsonArray shots, fails;
  for (const QString& s : screenshots_) shots << s;
  for (const QString& f : failures_) fails << f;
  report_["screenshots"] = shots;
  report_["failures"] = fails;
  report_["errors"] = QJsonArray::fromStringList(w_.errors());
  QFile f(o_.out_dir + "/report.json");
  if (f.open(QIODevice::WriteOnly)) f.write(QJsonDocument(report_).toJson());
  const int code = failures_.isEmpty() ? 0 : 1;
  std::fprintf(stderr, "[autotest] %s (%lld failures); report: %s/report.json\n", code ? "FAILED" : "PASSED",
               qlonglong(failures_.size()), qPrintable(o_.out_dir));
  w_.close();
  QCoreApplication::exit(code);
}

}  // namespace ds::app
