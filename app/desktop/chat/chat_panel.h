// ChatPanel: the conversation view, the prompt box and the Send / Stop / Regenerate / Copy buttons,
// with a line naming the model and its chat format. Emits what the user asked for; the
// ChatController decides what happens.
#pragma once
#include <QWidget>

class QLabel;
class QPushButton;

namespace ds::app {

class ChatView;
class PromptEdit;
class ConversationModel;

class ChatPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ChatPanel(QWidget* parent = nullptr);
  void setModel(ConversationModel* model);
  void setBusy(bool busy);
  void setInfo(const QString& text);   // "stories260K · plain completion"
  PromptEdit* prompt() const { return prompt_; }
  ChatView* view() const { return view_; }

 signals:
  void sendRequested(const QString& text);
  void stopRequested();
  void regenerateRequested();
  void copyRequested();

 private:
  void send();

  QLabel* info_;
  ChatView* view_;
  PromptEdit* prompt_;
  QPushButton *send_, *stop_, *regenerate_, *copy_;
  bool busy_ = false;
};

}  // namespace ds::app
