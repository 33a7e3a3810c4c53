// ChatController: the chat's logic on the GUI thread. Keeps the open conversation's model and the
// sidebar list in step with the store, turns "send" into a GenerationRequest for the engine host,
// streams the reply's tokens into the model, stores the finished reply, and handles stop,
// regenerate, copy, new/open/rename/delete/search. It never waits for the engine. The chat mode
// (teacher, student, pair) and the probes chosen in the explorer go with every request; a pair
// turn's tokens are marked with their divergence (KL tint and tooltip), stored with the reply and
// restored when the conversation is opened again. Each reply is stored with the model that wrote it
// (the teacher, also in pair turns, or the student), shown in its header when reopened.
#pragma once
#include <QObject>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/desktop/app_settings.h"
#include "app/desktop/chat/chat_store.h"
#include "app/desktop/chat/conversation_list_model.h"
#include "app/desktop/chat/conversation_model.h"
#include "app/desktop/engine_types.h"

namespace ds::app {

class EngineHost;

class ChatController : public QObject {
  Q_OBJECT
 public:
  ChatController(EngineHost& host, ChatStore& store, QObject* parent = nullptr);

  ConversationModel* conversation() { return &conversation_; }
  ConversationListModel* conversations() { return &list_; }
  int64_t currentConversation() const { return current_; }
  bool busy() const { return request_ != 0; }
  void setSettings(const GenerationSettings& s) { settings_ = s; }
  void setModelLoaded(bool loaded) { model_loaded_ = loaded; }
  // Non-empty: sending is refused with this reason (a distillation holds the engine).
  void setPaused(const QString& reason) { paused_ = reason; }
  void setMode(ChatMode mode) { mode_ = mode; }
  ChatMode mode() const { return mode_; }
  // Asked at every request (the explorer's probe controls); unset: probes off.
  void setProbeSettings(std::function<ProbeSettings()> provider) { probes_ = std::move(provider); }
  // Display text per vocabulary id (the tooltips' top alternatives).
  void setVocabulary(std::shared_ptr<const std::vector<std::string>> labels) { vocab_ = std::move(labels); }
  QString tokenTooltip(const TokenDivergence& d) const;
  // The model files loaded now (from the window's reports; "" : none), recorded with pair turns.
  void setTeacherPath(const QString& path) { teacher_path_ = path; }
  void setStudentPath(const QString& path) { student_path_ = path; }
  QString teacherPath() const { return teacher_path_; }
  // Their rows in the store (ModelReport::model_id; 0: unknown), recorded with each reply they write.
  void setTeacherModelId(int64_t id) { teacher_model_id_ = id; }
  void setStudentModelId(int64_t id) { student_model_id_ = id; }

 public slots:
  bool send(const QString& text);  // false when busy, empty or no model
  void stop();
  bool regenerate();
  void copyLastReply();
  void newConversation();
  void openConversation(qint64 id);
  void renameConversation(qint64 id, const QString& title);
  void deleteConversation(qint64 id);
  void search(const QString& query);
  void refreshList();

 signals:
  void busyChanged(bool busy);
  void conversationOpened(qint64 id, const QString& system_prompt);
  void replyFinished(const ds::app::GenerationSummary& summary);
  void errorOccurred(const QString& what, const QString& message);

 private:
  void start_reply();
  void finish_reply();  // stores the streamed reply (if any) and leaves the busy state
  void on_token(const TokenChunk& chunk);
  void on_finished(const GenerationSummary& summary);
  void on_failed(const QString& what, const QString& message, quint64 request);
  void set_busy(uint64_t request);
  std::string label(int32_t id) const;  // display text of a vocabulary id

  EngineHost& host_;
  ChatStore& store_;
  ConversationModel conversation_;
  ConversationListModel list_;
  GenerationSettings settings_;
  int64_t current_ = 0;      // open conversation (0: new, not stored until the first message)
  uint64_t request_ = 0;     // generation in progress (0: none)
  int reply_row_ = -1;       // the streaming row
  bool model_loaded_ = false;
  QString paused_;
  QString query_;
  ChatMode mode_ = ChatMode::Teacher;
  std::function<ProbeSettings()> probes_;
  std::shared_ptr<const std::vector<std::string>> vocab_;
  QString teacher_path_, student_path_;
  int64_t teacher_model_id_ = 0, student_model_id_ = 0;
};

}  // namespace ds::app
