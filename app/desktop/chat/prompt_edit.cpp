// PromptEdit: key handling for send / new line.
#include "app/desktop/chat/prompt_edit.h"

#include <QKeyEvent>

namespace ds::app {

PromptEdit::PromptEdit(QWidget* parent) : QPlainTextEdit(parent) {
  setPlaceholderText(tr("Message (Enter sends, Shift+Enter new line)"));
  setTabChangesFocus(true);
}

void PromptEdit::keyPressEvent(QKeyEvent* e) {
  const bool enter = e->key() == Qt::Key_Return || e->key() == Qt::Key_Enter;
  if (enter && !(e->modifiers() & Qt::ShiftModifier)) {
    emit submitted();
    return;
  }
  if (enter) {  // Shift+Enter: a plain line break (not Qt's soft line separator)
    insertPlainText(QStringLiteral("\n"));
    return;
  }
  QPlainTextEdit::keyPressEvent(e);
}

}  // namespace ds::app
