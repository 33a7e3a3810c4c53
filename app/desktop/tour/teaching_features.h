// TeachingFeatures: the app's features for a class or a demo, hooked into the window's menus with
// one call: Chat > Compare students... (several students against the teacher in the divergence
// timeline), Help > Guided tour, View > Presentation mode (F5). Owns the three objects.
#pragma once
#include <QObject>

class QMenu;

namespace ds::app {

class GuidedTour;
class MainWindow;
class PresentationMode;
class StudentComparisonRunner;

class TeachingFeatures : public QObject {
  Q_OBJECT
 public:
  TeachingFeatures(MainWindow& window, QMenu* chat, QMenu* view, QMenu* help);

  StudentComparisonRunner& comparison() { return *comparison_; }
  GuidedTour& tour() { return *tour_; }
  PresentationMode& presentation() { return *presentation_; }

 private:
  void ask_compare();
  QString default_prompt() const;

  MainWindow& window_;
  StudentComparisonRunner* comparison_;
  GuidedTour* tour_;
  PresentationMode* presentation_;
  QStringList last_students_;
};

}  // namespace ds::app
