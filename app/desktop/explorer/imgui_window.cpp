// The Qt <-> ImGui bridge: surface and renderer lifetime, the frame timer, input forwarding,
// clipboard, frame capture and the explorer's exports.
//
// [SECTION] lifetime   [SECTION] frame   [SECTION] export   [SECTION] input
#include "app/desktop/explorer/imgui_window.h"

#include <imgui.h>

#include <QClipboard>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QGuiApplication>
#include <QKeyEvent>
#include <QPlatformSurfaceEvent>
#include <QVulkanInstance>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <chrono>
#include <cstdio>

#include "app/desktop/app_settings.h"
#include "app/desktop/explorer/explorer_data.h"
#include "ui/fonts.h"
#include "ui/frame_hash.h"
#include "ui/vk_renderer.h"

namespace ds::app {

namespace {
constexpr float k_font_px = 15.0f;
// Frame rate while the engine works on a queue shared with it (lavapipe): the pacing interval; waiting for
// the engine's chunk in flight comes on top, so 45 gives 33-35 fps measured (40 gave 31-33), above the 30
// the app promises, with the rest of the queue left to the engine.
constexpr double k_shared_fps = 45.0;
}  // namespace

// [SECTION] lifetime ------------------------------------------------------------------------------
ImGuiWindow::ImGuiWindow(QVulkanInstance* instance, const VulkanShare& share, ExplorerData* data)
    : instance_(instance), share_(share), data_(data) {
  setSurfaceType(QSurface::VulkanSurface);
  setVulkanInstance(instance);
  ctx_ = ImGui::CreateContext();
  ImGui::SetCurrentContext(ctx_);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;
  io.BackendPlatformName = "distilscope-qt";
  for (int k = 0; k < ImGuiKey_COUNT; ++k) io.KeyMap[k] = k;  // KeysDown[] is indexed by ImGuiKey
  io.SetClipboardTextFn = [](void* self, const char* text) {
    (void)self;
    QGuiApplication::clipboard()->setText(QString::fromUtf8(text));
  };
  io.GetClipboardTextFn = [](void* self) -> const char* {
    auto* w = static_cast<ImGuiWindow*>(self);
    w->clipboard_ = QGuiApplication::clipboard()->text().toUtf8();
    return w->clipboard_.constData();
  };
  io.ClipboardUserData = this;
  ImGui::StyleColorsDark();
  ImGui::GetStyle().WindowRounding = 0;
  font_file_ = QString::fromStdString(ui::load_ui_font(k_font_px));
  if (!font_file_.isEmpty()) ui::load_ui_font(k_font_px * k_presentation_scale);  // Fonts[1]: presentation mode
  timer_.setTimerType(Qt::PreciseTimer);
  timer_.setInterval(16);
  connect(&timer_, &QTimer::timeout, this, &ImGuiWindow::frame);
  clock_.start();
}

ImGuiWindow::~ImGuiWindow() {
  releaseRenderer();
  ImGui::DestroyContext(ctx_);
}

void ImGuiWindow::releaseRenderer() {
  timer_.stop();
  if (!renderer_) return;
  if (share_.turns) {
    share_.turns->set_idle_callback(nullptr);
    renderer_->release_turn();
  }
  ImGui::SetCurrentContext(ctx_);
  renderer_.reset();  // waits for the queue, shuts the ImGui backend down
}

void ImGuiWindow::init_renderer() {
  if (renderer_ || init_failed_ || !isExposed()) return;
  ImGui::SetCurrentContext(ctx_);
  try {
    VkSurfaceKHR surface = QVulkanInstance::surfaceForWindow(this);
    if (!surface) throw std::runtime_error("Qt could not create a Vulkan surface for the explorer window");
    ui::VulkanTarget t;
    t.instance = VkInstance(share_.instance);
    t.physical = VkPhysicalDevice(share_.physical);
    t.device = VkDevice(share_.device);
    t.queue = VkQueue(share_.queue);
    t.queue_family = share_.queue_family;
    t.queue_mutex = share_.queue_mutex;
    t.turns = share_.turns;
    if (share_.turns)  // the engine's last step in flight finished while a frame waits for its turn
      share_.turns->set_idle_callback([this] { QMetaObject::invokeMethod(this, [this] { frame(); }, Qt::QueuedConnection); });
    const qreal dpr = devicePixelRatio();
    renderer_ = std::make_unique<ui::ImGuiVulkanRenderer>(t, surface, uint32_t(width() * dpr), uint32_t(height() * dpr));
    timer_.start();
  } catch (const std::exception& e) {
    init_failed_ = true;
    emit failed(QString::fromUtf8(e.what()));
  }
}

void ImGuiWindow::exposeEvent(QExposeEvent*) {
  shown_hash_ = 0;  // the window system may have lost our pixels
  if (isExposed()) init_renderer();
}

void ImGuiWindow::resizeEvent(QResizeEvent*) {
  shown_hash_ = 0;
  const qreal dpr = devicePixelRatio();
  if (renderer_) renderer_->resize(uint32_t(width() * dpr), uint32_t(height() * dpr));
}

bool ImGuiWindow::event(QEvent* e) {
  if (e->type() == QEvent::PlatformSurface &&
      static_cast<QPlatformSurfaceEvent*>(e)->surfaceEventType() == QPlatformSurfaceEvent::SurfaceAboutToBeDestroyed)
    releaseRenderer();  // the swapchain must go before Qt destroys the surface
  if (e->type() == QEvent::Leave) {
    ImGui::SetCurrentContext(ctx_);
    ImGui::GetIO().MousePos = {-FLT_MAX, -FLT_MAX};
  }
  return QWindow::event(e);
}

void ImGuiWindow::selectPanel(ui::Panel panel) { state_.select = panel; }
void ImGuiWindow::setUiScale(float scale) {
  ui_scale_ = scale;
  shown_hash_ = 0;
}

// The font and style sizes for ui_scale_ (the larger font when presentation mode loaded one).
void ImGuiWindow::apply_scale() {
  if (applied_scale_ == ui_scale_) return;
  ImGuiIO& io = ImGui::GetIO();
  const bool large = ui_scale_ > 1 && io.Fonts->Fonts.Size > 1;
  io.FontDefault = large ? io.Fonts->Fonts[1] : nullptr;
  io.FontGlobalScale = large ? ui_scale_ / k_presentation_scale : ui_scale_;
  ImGuiStyle style;
  ImGui::StyleColorsDark(&style);
  style.WindowRounding = 0;
  style.ScaleAllSizes(ui_scale_);
  ImGui::GetStyle() = style;
  applied_scale_ = ui_scale_;
}
void ImGuiWindow::captureNextFrame(std::function<void(const QImage&)> done) { captures_.push_back(std::move(done)); }
ImGuiWindow::FrameStats ImGuiWindow::frameStats() const {
  FrameStats s = stats_;
  if (renderer_) {
    auto t = renderer_->timings();
    s.acquire_ms = t.acquire_ms, s.record_ms = t.record_ms, s.submit_ms = t.submit_ms, s.present_ms = t.present_ms;
    s.gpu_ms = t.gpu_ms;
  }
  return s;
}

uint64_t ImGuiWindow::framesPresented() const { return renderer_ ? renderer_->frames_presented() : 0; }
QString ImGuiWindow::presentMode() const {
  return renderer_ ? QString::fromStdString(renderer_->present_mode_name()) : QString();
}

// [SECTION] frame ---------------------------------------------------------------------------------
void ImGuiWindow::retry_soon(int ms) {
  if (retry_pending_) return;
  retry_pending_ = true;
  QTimer::singleShot(ms, this, [this] {
    retry_pending_ = false;
    frame();
  });
}

void ImGuiWindow::frame() {
  if (!renderer_ || !isExposed()) return;
  if (!renderer_->ready()) {  // the previous frame is still on the GPU: look again shortly, never wait
    ++stats_.busy_ticks;
    retry_soon();
    return;
  }
  const double t_begin = double(clock_.nsecsElapsed()) * 1e-6;
  ImGui::SetCurrentContext(ctx_);
  ImGuiIO& io = ImGui::GetIO();
  const double now = double(clock_.nsecsElapsed()) * 1e-9;
  io.DeltaTime = float(std::max(now - last_time_, 1e-4));
  last_time_ = now;
  io.DisplaySize = {float(width()), float(height())};
  const float dpr = float(devicePixelRatio());
  io.DisplayFramebufferScale = {dpr, dpr};

  const ui::Panel before = state_.current;
  apply_scale();
  ImGui::NewFrame();
  data_->refresh();
  ui::WorkspaceData d = data_->workspace();
  d.probes = &state_.probes;
  ui::draw_workspace(d, state_);
  ImGui::Render();
  const double t_built = double(clock_.nsecsElapsed()) * 1e-6;
  stats_.build_ms += t_built - t_begin;
  if (state_.current != before) emit panelChanged(int(state_.current));
  if (export_kind_) {
    ui::ExportRequest r{state_.current, *export_kind_, state_.panel_min, state_.panel_max,
                        ui::export_text(data_->workspace(), state_, state_.current, *export_kind_)};
    state_.export_request = std::move(r);
    export_kind_.reset();
  }

  if (state_.export_request) {
    if (state_.export_request->kind == ui::ExportKind::Png) pending_png_ = std::move(state_.export_request);
    else handle_export(nullptr);
    state_.export_request.reset();
  }
  const bool read = !captures_.empty() || pending_png_;
  // Nothing changed on screen: show the last frame (if still pending) and draw nothing new.
  const uint64_t hash = ui::hash_draw_data(ImGui::GetDrawData());
  if (!read && hash == shown_hash_) {
    ++stats_.unchanged;
    if (renderer_->has_unpresented_frame()) {  // show the last frame once the queue is ours
      if (!renderer_->claim_turn()) return retry_soon();
      renderer_->present_ready();
      renderer_->release_turn();
    }
    return;
  }
  // On a queue shared with the engine, draw only when no engine step is in flight (the claim keeps
  // new ones back meanwhile), so neither this frame nor its present waits behind engine work; while
  // the engine is busy, at most k_shared_fps frames a second, leaving it the rest of the queue.
  if (share_.turns && !read && share_.turns->engine_busy(std::chrono::milliseconds(100)) && !renderer_->claimed()) {
    const double wait_ms = 1000.0 / k_shared_fps - (t_begin - last_frame_ms_);
    if (wait_ms > 0.5) {
      ++stats_.paced;
      return retry_soon(int(std::ceil(wait_ms)));
    }
  }
  if (!renderer_->claim_turn()) {
    ++stats_.turn_waits;
    return retry_soon();
  }
  ui::FrameImage image;
  try {
    const bool drawn = renderer_->render(ImGui::GetDrawData(), read ? &image : nullptr);
    renderer_->release_turn();
    stats_.render_ms += double(clock_.nsecsElapsed()) * 1e-6 - t_built;
    if (!drawn) return;
    last_frame_ms_ = t_begin;
    ++stats_.frames;
    shown_hash_ = hash;
  } catch (const std::exception& e) {
    releaseRenderer();
    init_failed_ = true;
    emit failed(QString::fromUtf8(e.what()));
    return;
  }
  present_times_.push_back(now);
  present_times_.erase(present_times_.begin(),
                       std::find_if(present_times_.begin(), present_times_.end(), [&](double t) { return t > now - 1.0; }));
  fps_ = double(present_times_.size());
  if (!read) return;
  if (pending_png_) handle_export(&image);
  QImage full(image.rgba.data(), int(image.width), int(image.height), int(image.width) * 4, QImage::Format_RGBA8888);
  for (auto& done : std::exchange(captures_, {})) done(full.copy());
}

// [SECTION] export --------------------------------------------------------------------------------
void ImGuiWindow::handle_export(const ui::FrameImage* image) {
  const bool png = image != nullptr;
  const ui::ExportRequest& r = png ? *pending_png_ : *state_.export_request;
  QDir dir(export_dir());
  if (!dir.mkpath(".")) {
    emit failed(tr("Cannot create the export folder %1").arg(dir.path()));
    pending_png_.reset();
    return;
  }
  const char* ext = r.kind == ui::ExportKind::Png ? "png" : r.kind == ui::ExportKind::Csv ? "csv" : "json";
  const QString path = dir.filePath(QString("%1-%2.%3")
                                        .arg(ui::panel_file_name(r.panel))
                                        .arg(QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss-zzz"))
                                        .arg(ext));
  bool ok = false;
  if (png) {
    QImage full(image->rgba.data(), int(image->width), int(image->height), int(image->width) * 4,
                QImage::Format_RGBA8888);
    const float dpr = float(devicePixelRatio());
    QRect rect(QPoint(int(r.min.x * dpr), int(r.min.y * dpr)), QPoint(int(r.max.x * dpr) - 1, int(r.max.y * dpr) - 1));
    ok = !image->rgba.empty() && full.copy(rect.intersected(full.rect())).save(path);
    pending_png_.reset();
  } else {
    QFile f(path);
    ok = f.open(QIODevice::WriteOnly) && f.write(QByteArray::fromStdString(r.content)) == qint64(r.content.size());
  }
  if (ok) emit exported(path);
  else emit failed(tr("Could not write %1").arg(path));
}

// [SECTION] input ---------------------------------------------------------------------------------
namespace {
int imgui_key(int qt_key) {
  switch (qt_key) {
    case Qt::Key_Tab: return ImGuiKey_Tab;
    case Qt::Key_Left: return ImGuiKey_LeftArrow;
    case Qt::Key_Right: return ImGuiKey_RightArrow;
    case Qt::Key_Up: return ImGuiKey_UpArrow;
    case Qt::Key_Down: return ImGuiKey_DownArrow;
    case Qt::Key_PageUp: return ImGuiKey_PageUp;
    case Qt::Key_PageDown: return ImGuiKey_PageDown;
    case Qt::Key_Home: return ImGuiKey_Home;
    case Qt::Key_End: return ImGuiKey_End;
    case Qt::Key_Insert: return ImGuiKey_Insert;
    case Qt::Key_Delete: return ImGuiKey_Delete;
    case Qt::Key_Backspace: return ImGuiKey_Backspace;
    case Qt::Key_Space: return ImGuiKey_Space;
    case Qt::Key_Return: return ImGuiKey_Enter;
    case Qt::Key_Escape: return ImGuiKey_Escape;
    case Qt::Key_Enter: return ImGuiKey_KeyPadEnter;
    case Qt::Key_A: return ImGuiKey_A;
    case Qt::Key_C: return ImGuiKey_C;
    case Qt::Key_V: return ImGuiKey_V;
    case Qt::Key_X: return ImGuiKey_X;
    case Qt::Key_Y: return ImGuiKey_Y;
    case Qt::Key_Z: return ImGuiKey_Z;
    default: return -1;
  }
}

void set_modifiers(ImGuiIO& io, Qt::KeyboardModifiers m) {
  io.KeyCtrl = m & Qt::ControlModifier;
  io.KeyShift = m & Qt::ShiftModifier;
  io.KeyAlt = m & Qt::AltModifier;
  io.KeySuper = m & Qt::MetaModifier;
}

int imgui_button(Qt::MouseButton b) {
  return b == Qt::LeftButton ? 0 : b == Qt::RightButton ? 1 : b == Qt::MiddleButton ? 2 : -1;
}
}  // namespace

void ImGuiWindow::mouseMoveEvent(QMouseEvent* e) {
  ImGui::SetCurrentContext(ctx_);
  ImGui::GetIO().MousePos = {float(e->position().x()), float(e->position().y())};
}

void ImGuiWindow::mouse_button(QMouseEvent* e, bool down) {
  ImGui::SetCurrentContext(ctx_);
  ImGuiIO& io = ImGui::GetIO();
  io.MousePos = {float(e->position().x()), float(e->position().y())};
  set_modifiers(io, e->modifiers());
  if (int b = imgui_button(e->button()); b >= 0) io.MouseDown[b] = down;
  if (down) requestActivate();
}

void ImGuiWindow::mousePressEvent(QMouseEvent* e) { mouse_button(e, true); }
void ImGuiWindow::mouseReleaseEvent(QMouseEvent* e) { mouse_button(e, false); }
void ImGuiWindow::mouseDoubleClickEvent(QMouseEvent* e) { mouse_button(e, true); }  // ImGui detects double clicks itself

void ImGuiWindow::wheelEvent(QWheelEvent* e) {
  ImGui::SetCurrentContext(ctx_);
  ImGuiIO& io = ImGui::GetIO();
  io.MouseWheel += float(e->angleDelta().y()) / 120.0f;
  io.MouseWheelH += float(e->angleDelta().x()) / 120.0f;
}

void ImGuiWindow::key_event(QKeyEvent* e, bool down) {
  ImGui::SetCurrentContext(ctx_);
  ImGuiIO& io = ImGui::GetIO();
  set_modifiers(io, e->modifiers());
  if (int k = imgui_key(e->key()); k >= 0) io.KeysDown[k] = down;
  if (down && !e->text().isEmpty() && e->text().at(0).isPrint()) io.AddInputCharactersUTF8(e->text().toUtf8().constData());
}

void ImGuiWindow::keyPressEvent(QKeyEvent* e) { key_event(e, true); }
void ImGuiWindow::keyReleaseEvent(QKeyEvent* e) { key_event(e, false); }

void ImGuiWindow::focusOutEvent(QFocusEvent*) {
  ImGui::SetCurrentContext(ctx_);
  ImGuiIO& io = ImGui::GetIO();
  std::fill(std::begin(io.KeysDown), std::end(io.KeysDown), false);
  std::fill(std::begin(io.MouseDown), std::end(io.MouseDown), false);
  io.KeyCtrl = io.KeyShift = io.KeyAlt = io.KeySuper = false;
}

}  // namespace ds::app
