// ConversationListModel: conversations or search hits -> rows with title, snippet and date.
#include "app/desktop/chat/conversation_list_model.h"

#include <QDateTime>

namespace ds::app {

int ConversationListModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(items_.size());
}

QVariant ConversationListModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() < 0 || index.row() >= rowCount()) return {};
  const Item& it = items_[size_t(index.row())];
  switch (role) {
    case Qt::DisplayRole: return it.title.isEmpty() ? tr("(untitled)") : it.title;
    case Qt::ToolTipRole:
      return it.snippet.isEmpty() ? QDateTime::fromMSecsSinceEpoch(it.updated_at).toString(Qt::ISODate)
                                  : it.snippet;
    case IdRole: return qint64(it.id);
    case TitleRole: return it.title;
    case SnippetRole: return it.snippet;
    case UpdatedRole: return qint64(it.updated_at);
    default: return {};
  }
}

void ConversationListModel::setConversations(const std::vector<Conversation>& list) {
  beginResetModel();
  items_.clear();
  for (const auto& c : list) items_.push_back({c.id, QString::fromStdString(c.title), {}, c.updated_at});
  endResetModel();
}

void ConversationListModel::setSearchHits(const std::vector<SearchHit>& hits) {
  beginResetModel();
  items_.clear();
  for (const auto& h : hits)
    items_.push_back({h.conversation_id, QString::fromStdString(h.title), QString::fromStdString(h.snippet), h.updated_at});
  endResetModel();
}

int64_t ConversationListModel::idAt(int row) const {
  return row >= 0 && row < rowCount() ? items_[size_t(row)].id : 0;
}

int ConversationListModel::rowOf(int64_t id) const {
  for (size_t i = 0; i < items_.size(); ++i)
    if (items_[i].id == id) return int(i);
  return -1;
}

}  // namespace ds::app
