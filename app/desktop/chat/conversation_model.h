// ConversationModel: the messages of the open conversation, as a Qt list model (changed on the GUI
// thread only). The reply being generated is the last row, marked streaming; token text is
// appended to it and announced by textAppended so views can append instead of re-rendering.
#pragma once
#include <QAbstractListModel>

#include <vector>

#include "distilscope/store_records.h"
#include "text/chat_template.h"

namespace ds::app {

// A token of a pair turn inside a reply's text: where it is, how far the student's prediction of
// it was from the teacher's (KL, nats), and the tooltip that details it.
struct TokenMark {
  int begin = 0, length = 0;  // in the entry's text (UTF-16 units)
  float kl = 0;
  QString tooltip;  // rich text
  MessageTokenDivergence data;  // what the tint and tooltip show (stored with the message; offsets unused)
};

struct ChatEntry {
  Role role = Role::User;
  QString text;
  int64_t message_id = 0;  // store row (0: not stored yet)
  bool streaming = false;
  std::vector<TokenMark> marks;  // pair turns only (stored as the message's divergence, token_divergence.h)
  QString teacher, student;      // pair turns: the model files the marks were measured with
  int64_t model_id = 0;          // assistant replies: the store's models row of the model that wrote it (0: unknown)
  QString model;                 // ... and its file path (shown in the reply's header)
};

class ConversationModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Roles { RoleRole = Qt::UserRole + 1, TextRole, StreamingRole, MessageIdRole };
  using QAbstractListModel::QAbstractListModel;

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QHash<int, QByteArray> roleNames() const override;

  void setEntries(std::vector<ChatEntry> entries);
  int append(ChatEntry entry);  // returns the row
  // With `mark`, the chunk is one token of a pair turn (mark.begin/length are set here).
  void appendText(int row, const QString& chunk, const TokenMark* mark = nullptr);
  void finish(int row, int64_t message_id);  // not streaming any more; stored as message_id
  void removeLast();
  const ChatEntry& entry(int row) const { return entries_[size_t(row)]; }
  const std::vector<ChatEntry>& entries() const { return entries_; }
  int lastRow(Role role) const;  // -1 when none

  // The conversation for the chat template: the system prompt (when not empty), then every
  // non-empty message before `end_row` (-1: all) in order, as UTF-8.
  std::vector<ChatMessage> toChatMessages(const QString& system_prompt, int end_row = -1) const;

 signals:
  void textAppended(int row, const QString& chunk);

 private:
  std::vector<ChatEntry> entries_;
};

}  // namespace ds::app
