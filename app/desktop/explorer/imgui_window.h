// ImGuiWindow: the Qt <-> ImGui bridge (the only file that knows both). A QWindow with a Vulkan
// surface from a QVulkanInstance that wraps the engine's VkInstance; ImGui draws into it with the
// engine's VkDevice and queue (ui/vk_renderer.h). Qt mouse, wheel, keyboard and text events are
// forwarded to ImGui; a precise timer renders at up to 60 frames/s and skips a tick (never waits)
// while the GPU is busy. Embedded in widgets with QWidget::createWindowContainer.
#pragma once
#include <QElapsedTimer>
#include <QImage>
#include <QTimer>
#include <QWindow>

#include <functional>
#include <memory>
#include <optional>

#include "app/desktop/engine_types.h"
#include "ui/workspace.h"

struct ImGuiContext;
class QVulkanInstance;

namespace ds::ui {
class ImGuiVulkanRenderer;
struct FrameImage;
}

namespace ds::app {

class ExplorerData;

// The text scale of presentation mode (View > Presentation mode), in the explorer and the widgets.
inline constexpr float k_presentation_scale = 1.6f;

class ImGuiWindow : public QWindow {
  Q_OBJECT
 public:
  ImGuiWindow(QVulkanInstance* instance, const VulkanShare& share, ExplorerData* data);
  ~ImGuiWindow() override;

  void selectPanel(ui::Panel panel);
  ui::Panel currentPanel() const { return state_.current; }
  // The next presented frame, read back from the swapchain (RGBA, full window).
  void captureNextFrame(std::function<void(const QImage&)> done);
  double framesPerSecond() const { return fps_; }  // presented frames over the last second
  // Where frame time goes (totals since start): building the ImGui frame on the CPU, recording +
  // submitting + presenting, and ticks that found the previous frame still on the GPU.
  struct FrameStats {
    double build_ms = 0, render_ms = 0;
    double acquire_ms = 0, record_ms = 0, submit_ms = 0, present_ms = 0;  // parts of render_ms
    double gpu_ms = 0;  // submit -> finished on the device (rasterization on lavapipe)
    uint64_t frames = 0, busy_ticks = 0;
    uint64_t unchanged = 0;  // ticks whose frame was identical to the one on screen (not drawn)
    uint64_t turn_waits = 0;  // ticks that waited for an engine step to finish (queue shared with it)
    uint64_t paced = 0;       // ticks deferred to keep the frame rate at k_shared_fps while the engine works
  };
  FrameStats frameStats() const;
  uint64_t framesPresented() const;
  QString fontFile() const { return font_file_; }
  // Text and spacing scale of the panels (1: normal; presentation mode uses a larger font, loaded
  // beside the normal one at start so the atlas is never rebuilt).
  void setUiScale(float scale);
  float uiScale() const { return ui_scale_; }
  QString presentMode() const;
  bool ownQueue() const { return share_.separate_queue; }  // else it shares the engine's queue
  void releaseRenderer();  // before the device goes away
  // For automation (the end-to-end test): the panels' state, and an export as if its button was clicked.
  ui::WorkspaceState& workspaceState() { return state_; }
  void requestExport(ui::ExportKind kind) { export_kind_ = kind; }

 signals:
  void exported(const QString& path);
  void failed(const QString& message);
  void panelChanged(int panel);

 protected:
  void exposeEvent(QExposeEvent* e) override;
  void resizeEvent(QResizeEvent* e) override;
  bool event(QEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void mouseDoubleClickEvent(QMouseEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;
  void keyReleaseEvent(QKeyEvent* e) override;
  void focusOutEvent(QFocusEvent* e) override;

 private:
  void frame();
  void retry_soon(int ms = 2);  // frame() again in `ms` (once: a pending retry stays)
  void apply_scale();
  void init_renderer();
  void handle_export(const ui::FrameImage* image);
  void key_event(QKeyEvent* e, bool down);
  void mouse_button(QMouseEvent* e, bool down);

  QVulkanInstance* instance_;
  VulkanShare share_;
  ExplorerData* data_;
  ImGuiContext* ctx_ = nullptr;
  std::unique_ptr<ui::ImGuiVulkanRenderer> renderer_;
  ui::WorkspaceState state_;
  QTimer timer_;
  QElapsedTimer clock_;
  double last_time_ = 0;
  double fps_ = 0;
  std::vector<double> present_times_;  // seconds, last second of presented frames
  std::vector<std::function<void(const QImage&)>> captures_;
  std::optional<ui::ExportRequest> pending_png_;
  QString font_file_;
  float ui_scale_ = 1, applied_scale_ = 1;
  QByteArray clipboard_;
  bool init_failed_ = false;
  std::optional<ui::ExportKind> export_kind_;
  FrameStats stats_;
  bool retry_pending_ = false;
  double last_frame_ms_ = -1e9;  // when the last drawn frame was begun (clock_)
  uint64_t shown_hash_ = 0;  // draw data of the frame last submitted (0: none / must redraw)
};

}  // namespace ds::app
