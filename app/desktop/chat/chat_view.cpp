// ChatView: document building (a header per message: role, and for replies the model file) and streaming appends.
#include "app/desktop/chat/chat_view.h"

#include <QFileInfo>
#include <QHelpEvent>
#include <QScrollBar>
#include <QToolTip>

#include <algorithm>
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

// KL 0 nats: pale green; 2 nats and more: red.
QColor kl_color(float kl) {
  const double t = std::clamp(double(kl) / 2.0, 0.0, 1.0);
  return QColor::fromHsvF((1.0 - t) * 0.33, 0.18 + 0.5 * t, 1.0);
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

bool ChatView::viewportEvent(QEvent* e) {
  if (e->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(e);
    QTextCursor c = cursorForPosition(help->pos());
    if (!c.atBlockEnd()) c.movePosition(QTextCursor::NextCharacter);  // the format of the character under the mouse
    const QString tip = c.charFormat().toolTip();
    if (tip.isEmpty()) QToolTip::hideText();
    else QToolTip::showText(help->globalPos(), tip, viewport());
    return true;
  }
  return QTextBrowser::viewportEvent(e);
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
  if (!e.model.isEmpty()) {  // which model wrote the reply: its file name, the path as tooltip
    QTextCharFormat model;
    model.setForeground(QColor(120, 120, 120));
    model.setToolTip(e.model.toHtmlEscaped());
    c.insertText(QStringLiteral("  ") + QFileInfo(e.model).fileName(), model);
  }
  QTextBlockFormat body;
  body.setLayoutDirection(Qt::LayoutDirectionAuto);  // each paragraph takes the direction of its text
  c.insertBlock(body, QTextCharFormat());
  int at = 0;  // '\n' becomes a new paragraph
  for (const TokenMark& m : e.marks) {
    if (m.begin > at) insertText(c, e.text.mid(at, m.begin - at), nullptr);
    insertText(c, e.text.mid(m.begin, m.length), &m);
    at = m.begin + m.length;
  }
  insertText(c, e.text.mid(at), nullptr);
}

void ChatView::insertText(QTextCursor& c, const QString& text, const TokenMark* mark) {
  if (text.isEmpty()) return;
  QTextCharFormat f;
  if (mark) {
    f.setBackground(kl_color(mark->kl));
    f.setToolTip(mark->tooltip);
  }
  c.insertText(text, f);
}

void ChatView::appendChunk(int row, const QString& chunk) {
  if (!model_ || row != model_->rowCount() - 1) return rebuild();  // only the last message streams
  const bool bottom = atBottom();
  QTextCursor c(document());
  c.movePosition(QTextCursor::End);
  const ChatEntry& e = model_->entry(row);
  const TokenMark* mark = !e.marks.empty() && e.marks.back().begin + e.marks.back().length == int(e.text.size()) &&
                                  e.marks.back().length == int(chunk.size())
                              ? &e.marks.back()
                              : nullptr;
  insertText(c, chunk, mark);
  keepAtBottom(bottom);
}

}  // namespace ds::app
