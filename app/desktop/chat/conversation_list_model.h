// ConversationListModel: the sidebar's list of conversations (newest first) or of search hits,
// as a Qt list model. Filled by the controller on the GUI thread from the store.
#pragma once
#include <QAbstractListModel>

#include <vector>

#include "distilscope/store_records.h"

namespace ds::app {

class ConversationListModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Roles { IdRole = Qt::UserRole + 1, TitleRole, SnippetRole, UpdatedRole };
  using QAbstractListModel::QAbstractListModel;

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

  void setConversations(const std::vector<Conversation>& list);
  void setSearchHits(const std::vector<SearchHit>& hits);
  int64_t idAt(int row) const;
  int rowOf(int64_t id) const;  // -1 when absent

 private:
  struct Item {
    int64_t id = 0;
    QString title, snippet;
    int64_t updated_at = 0;
  };
  std::vector<Item> items_;
};

}  // namespace ds::app
