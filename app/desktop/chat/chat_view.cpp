// ChatView: document building and streaming appends.
#include "app/desktop/chat/chat_view.h"

#include <QScrollBar>
#include <QTextBlock>
#include <QTextCursor>

#include "app/desktop/chat/conversation_model.h"

namespace ds::app {

namespace {
QString role_title(Role r) {
  switch (r) {
    case Role::User: return QObject::tr("You");
    case Role::Assistant: return QObject::tr("Assistant");
    case Role::System: return QObject::tr("System");
  }
  return {};
}

QColor role_color(Role r) {
  return r == Role::User ? QColor(30, 110, 200) : r == Role::Assistant ? QColor(30, 140, 80) : QColor(130, 130, 130);
}
}  // namespace

ChatView::ChatView(QWidget* parent) : QTextBrowser(parent) {
  setOpenLinks(false);
  setReadOnly(true);
  setPlaceholderText(tr("Type a message below. Enter sends, Shift+Enter starts a new line."));
}

void ChatView::setModel(ConversationModel* model) {
  if (model_) disconnect(model_, nullptr, this, nullptr);
  model_ = model;
  connect(model_, &QAbstractItemModel::modelReset, this, &ChatView::rebuild);
  connect(model_, &QAbstractItemModel::rowsRemoved, this, &ChatView::rebuild);
  connect(model_, &QAbstractItemModel::rowsInserted, this, [this](const QModelIndex&, int first, int last) {
    const bool bottom = atBottom();
    for (int r = first; r <= last; ++r) appendEntry(model_->entry(r));
    keepAtBottom(bottom);
  });
  connect(model_, &ConversationModel::textAppended, this, &ChatView::appendChunk);
  rebuild();
}

bool ChatView::atBottom() const {
  const QScrollBar* s = verticalScrollBar();
  return s->value() >= s->maximum() - 4;
}

void ChatView::keepAtBottom(bool was_at_bottom) {
  if (was_at_bottom) verticalScrollBar()->setValue(verticalScrollBar()->maximum());
}

void ChatView::rebuild() {
  clear();
  if (!model_) return;
  for (const ChatEntry& e : model_->entries()) appendEntry(e);
  keepAtBottom(true);
}

void ChatView::appendEntry(const ChatEntry& e) {
  QTextCursor c(document());
  c.movePosition(QTextCursor::End);
  const bool first = document()->isEmpty();
  QTextBlockFormat header;
  header.setTopMargin(first ? 0 : 10);
  header.setLayoutDirection(Qt::LeftToRight);
  QTextCharFormat bold;
  bold.setFontWeight(QFont::Bold);
  bold.setForeground(role_color(e.role));
  if (first) c.setBlockFormat(header);
  else c.insertBlock(header);
  c.insertText(role_title(e.role), bold);
  QTextBlockFormat body;
  body.setLayoutDirection(Qt::LayoutDirectionAuto);  // each paragraph takes the direction of its text
  c.insertBlock(body, QTextCharFormat());
  c.insertText(e.text);  // '\n' becomes a new paragraph
}

void ChatView::appendChunk(int row, const QString& chunk) {
  if (!model_ || row != model_->rowCount() - 1) return rebuild();  // only the last message streams
  const bool bottom = atBottom();
  QTextCursor c(document());
  c.movePosition(QTextCursor::End);
  c.insertText(chunk, QTextCharFormat());
  keepAtBottom(bottom);
}

}  // namespace ds::app
