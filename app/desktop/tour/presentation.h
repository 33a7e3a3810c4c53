// PresentationMode: View > Presentation mode (F5). Larger text for a class or a projector: the Qt
// widgets' application font and the explorer's ImGui font both grow by k_presentation_scale, and
// the explorer's dock takes half the window's height. The
// choice is kept in QSettings ("view/presentation") and applied again at the next start.
#pragma once
#include <QFont>
#include <QObject>

class QAction;

namespace ds::app {

class MainWindow;

class PresentationMode : public QObject {
  Q_OBJECT
 public:
  PresentationMode(MainWindow& window, QAction* action);

  bool on() const { return on_; }
  void set(bool on);  // applies and saves
  void applyToExplorer();  // the explorer surface, once it exists

 signals:
  void changed(bool on);

 private:
  MainWindow& window_;
  QAction* action_;
  QFont base_font_;  // the application font of normal mode
  bool on_ = false;
};

}  // namespace ds::app
