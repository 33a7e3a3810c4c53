// ChatView: shows a ConversationModel as a read-only rich text document: a header per message and
// its text, each paragraph laid out by Qt with its own direction (so Arabic runs right to left and
// accents are shaped properly). Streaming text is appended in place, not re-rendered. Tokens of a
// pair turn are tinted by the student's KL from the teacher (pale green: close, red: far) and carry
// a tooltip (probabilities under each model, KL, top alternatives), shown by Qt on hover.
#pragma once
#include <QTextBrowser>
#include <QTextCursor>

namespace ds::app {

class ConversationModel;
struct ChatEntry;
struct TokenMark;

class ChatView : public QTextBrowser {
  Q_OBJECT
 public:
  explicit ChatView(QWidget* parent = nullptr);
  void setModel(ConversationModel* model);

 protected:
  bool viewportEvent(QEvent* e) override;  // tooltips of pair tokens (their char format's)

 private:
  void rebuild();
  void appendEntry(const ChatEntry& e);
  void insertText(QTextCursor& c, const QString& text, const TokenMark* mark);
  void appendChunk(int row, const QString& chunk);
  void keepAtBottom(bool was_at_bottom);
  bool atBottom() const;

  ConversationModel* model_ = nullptr;
};

}  // namespace ds::app
