// PromptEdit: the message box. Enter sends (submitted()), Shift+Enter inserts a line break.
#pragma once
#include <QPlainTextEdit>

namespace ds::app {

class PromptEdit : public QPlainTextEdit {
  Q_OBJECT
 public:
  explicit PromptEdit(QWidget* parent = nullptr);

 signals:
  void submitted();

 protected:
  void keyPressEvent(QKeyEvent* e) override;
};

}  // namespace ds::app
