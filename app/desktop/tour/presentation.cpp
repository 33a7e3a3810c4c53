// Presentation mode: the application font scaled for the widgets, the explorer told its scale.
#include "app/desktop/tour/presentation.h"

#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QSettings>
#include <QTimer>

#include "app/desktop/explorer/imgui_window.h"
#include "app/desktop/main_window.h"

namespace ds::app {

namespace {
constexpr const char* k_key = "view/presentation";

// The application font before presentation mode first changed it (a later window of the same
// process must not take the enlarged font for the normal one).
const QFont& normal_font() {
  static const QFont font = QApplication::font();
  return font;
}
}  // namespace

PresentationMode::PresentationMode(MainWindow& window, QAction* action)
    : QObject(&window), window_(window), action_(action), base_font_(normal_font()) {
  action_->setCheckable(true);
  connect(action_, &QAction::toggled, this, [this](bool checked) {
    if (checked != on_) set(checked);
  });
  if (QSettings().value(k_key, false).toBool()) set(true);
}

void PresentationMode::set(bool on) {
  on_ = on;
  QFont f = base_font_;
  const float scale = on ? k_presentation_scale : 1.0f;
  if (base_font_.pointSizeF() > 0) f.setPointSizeF(base_font_.pointSizeF() * scale);
  else f.setPixelSize(int(float(base_font_.pixelSize()) * scale));
  QApplication::setFont(f);
  applyToExplorer();
  // Larger text needs a taller explorer: it takes half the window (back to 440 px when off).
  // Deferred until the widgets have laid themselves out in the new font.
  QTimer::singleShot(50, this, [this] {
    if (QDockWidget* dock = window_.explorerDock(); dock && dock->isVisible() && !dock->isFloating())
      window_.resizeDocks({dock}, {on_ ? window_.height() / 2 : 440}, Qt::Vertical);
  });
  QSettings().setValue(k_key, on);
  if (action_->isChecked() != on) action_->setChecked(on);
  emit changed(on);
}

void PresentationMode::applyToExplorer() {
  if (ImGuiWindow* ex = window_.explorer()) ex->setUiScale(on_ ? k_presentation_scale : 1.0f);
}

}  // namespace ds::app
