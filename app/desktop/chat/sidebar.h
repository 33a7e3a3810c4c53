// ConversationSidebar: search box, the list of conversations, and New / Rename / Delete; a
// conversation's context menu offers Export as Markdown.
#pragma once
#include <QWidget>

class QLineEdit;
class QListView;

namespace ds::app {

class ConversationListModel;

class ConversationSidebar : public QWidget {
  Q_OBJECT
 public:
  explicit ConversationSidebar(QWidget* parent = nullptr);
  void setModel(ConversationListModel* model);
  void select(int64_t conversation);  // highlights it (0: none)

 signals:
  void searchChanged(const QString& query);
  void conversationActivated(qint64 id);
  void newRequested();
  void renameRequested(qint64 id, const QString& title);
  void deleteRequested(qint64 id);
  void exportRequested(qint64 id);

 private:
  int64_t currentId() const;

  QLineEdit* search_;
  QListView* list_;
  ConversationListModel* model_ = nullptr;
};

}  // namespace ds::app
