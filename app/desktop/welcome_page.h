// WelcomePage: shown when no model is loaded: what DistilScope needs, Open buttons and the recent
// files.
#pragma once
#include <QWidget>

class QLabel;
class QListWidget;

namespace ds::app {

class WelcomePage : public QWidget {
  Q_OBJECT
 public:
  explicit WelcomePage(QWidget* parent = nullptr);
  void setRecentFiles(const QStringList& files);
  void setMessage(const QString& text);

 signals:
  void openGgufRequested();
  void openHfRequested();
  void recentActivated(const QString& path);

 private:
  QLabel* message_;
  QListWidget* recent_;
};

}  // namespace ds::app
