// ChatView: shows a ConversationModel as a read-only rich text document: a header per message and
// its text, each paragraph laid out by Qt with its own direction (so Arabic runs right to left and
// accents are shaped properly). Streaming text is appended in place, not re-rendered.
#pragma once
#include <QTextBrowser>

namespace ds::app {

class ConversationModel;
struct ChatEntry;

class ChatView : public QTextBrowser {
  Q_OBJECT
 public:
  explicit ChatView(QWidget* parent = nullptr);
  void setModel(ConversationModel* model);

 private:
  void rebuild();
  void appendEntry(const ChatEntry& e);
  void appendChunk(int row, const QString& chunk);
  void keepAtBottom(bool was_at_bottom);
  bool atBottom() const;

  ConversationModel* model_ = nullptr;
};

}  // namespace ds::app
