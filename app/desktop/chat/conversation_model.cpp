// ConversationModel: list-model plumbing and conversion to chat-template messages.
#include "app/desktop/chat/conversation_model.h"

namespace ds::app {

int ConversationModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(entries_.size());
}

QVariant ConversationModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() < 0 || index.row() >= rowCount()) return {};
  const ChatEntry& e = entries_[size_t(index.row())];
  switch (role) {
    case Qt::DisplayRole:
    case TextRole: return e.text;
    case RoleRole: return QString::fromUtf8(to_string(e.role));
    case StreamingRole: return e.streaming;
    case MessageIdRole: return qint64(e.message_id);
    default: return {};
  }
}

QHash<int, QByteArray> ConversationModel::roleNames() const {
  return {{RoleRole, "role"}, {TextRole, "text"}, {StreamingRole, "streaming"}, {MessageIdRole, "messageId"}};
}

void ConversationModel::setEntries(std::vector<ChatEntry> entries) {
  beginResetModel();
  entries_ = std::move(entries);
  endResetModel();
}

int ConversationModel::append(ChatEntry entry) {
  const int row = rowCount();
  beginInsertRows({}, row, row);
  entries_.push_back(std::move(entry));
  endInsertRows();
  return row;
}

void ConversationModel::appendText(int row, const QString& chunk, const TokenMark* mark) {
  if (row < 0 || row >= rowCount() || chunk.isEmpty()) return;
  ChatEntry& e = entries_[size_t(row)];
  if (mark) {
    TokenMark m = *mark;
    m.begin = int(e.text.size());
    m.length = int(chunk.size());
    e.marks.push_back(std::move(m));
  }
  e.text += chunk;
  emit textAppended(row, chunk);
  emit dataChanged(index(row), index(row), {TextRole, Qt::DisplayRole});
}

void ConversationModel::finish(int row, int64_t message_id) {
  if (row < 0 || row >= rowCount()) return;
  entries_[size_t(row)].streaming = false;
  entries_[size_t(row)].message_id = message_id;
  emit dataChanged(index(row), index(row), {StreamingRole, MessageIdRole});
}

void ConversationModel::removeLast() {
  if (entries_.empty()) return;
  const int row = rowCount() - 1;
  beginRemoveRows({}, row, row);
  entries_.pop_back();
  endRemoveRows();
}

int ConversationModel::lastRow(Role role) const {
  for (int r = rowCount() - 1; r >= 0; --r)
    if (entries_[size_t(r)].role == role) return r;
  return -1;
}

std::vector<ChatMessage> ConversationModel::toChatMessages(const QString& system_prompt, int end_row) const {
  std::vector<ChatMessage> out;
  if (!system_prompt.trimmed().isEmpty()) out.push_back({Role::System, system_prompt.toStdString()});
  const int end = end_row < 0 ? rowCount() : std::min(end_row, rowCount());
  for (int r = 0; r < end; ++r) {
    const ChatEntry& e = entries_[size_t(r)];
    if (e.text.isEmpty()) continue;
    out.push_back({e.role, e.text.toStdString()});
  }
  return out;
}

}  // namespace ds::app
