// ConversationSidebar: widgets, confirmation and rename dialogs.
#include "app/desktop/chat/sidebar.h"

#include <QHBoxLayout>
#include <QInputDialog>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>

#include "app/desktop/chat/conversation_list_model.h"

namespace ds::app {

ConversationSidebar::ConversationSidebar(QWidget* parent) : QWidget(parent) {
  search_ = new QLineEdit(this);
  search_->setPlaceholderText(tr("Search conversations"));
  search_->setClearButtonEnabled(true);
  list_ = new QListView(this);
  list_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  auto* add = new QPushButton(tr("New"), this);
  auto* rename = new QPushButton(tr("Rename"), this);
  auto* remove = new QPushButton(tr("Delete"), this);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(add);
  buttons->addWidget(rename);
  buttons->addWidget(remove);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(search_);
  layout->addWidget(list_, 1);
  layout->addLayout(buttons);

  connect(search_, &QLineEdit::textChanged, this, &ConversationSidebar::searchChanged);
  connect(list_, &QListView::clicked, this, [this](const QModelIndex& i) { emit conversationActivated(model_->idAt(i.row())); });
  list_->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(list_, &QListView::customContextMenuRequested, this, [this](const QPoint& at) {
    const QModelIndex i = list_->indexAt(at);
    if (!i.isValid() || !model_) return;
    const int64_t id = model_->idAt(i.row());
    QMenu menu(this);
    menu.addAction(tr("Export as &Markdown..."), this, [this, id] { emit exportRequested(id); });
    menu.exec(list_->viewport()->mapToGlobal(at));
  });
  connect(add, &QPushButton::clicked, this, &ConversationSidebar::newRequested);
  connect(rename, &QPushButton::clicked, this, [this] {
    const int64_t id = currentId();
    if (!id) return;
    bool ok = false;
    QString title = QInputDialog::getText(this, tr("Rename conversation"), tr("Title:"), QLineEdit::Normal,
                                          list_->currentIndex().data(ConversationListModel::TitleRole).toString(), &ok);
    if (ok && !title.trimmed().isEmpty()) emit renameRequested(id, title.trimmed());
  });
  connect(remove, &QPushButton::clicked, this, [this] {
    const int64_t id = currentId();
    if (!id) return;
    if (QMessageBox::question(this, tr("Delete conversation"),
                              tr("Delete \"%1\" and all its messages?").arg(list_->currentIndex().data().toString())) ==
        QMessageBox::Yes)
      emit deleteRequested(id);
  });
}

void ConversationSidebar::setModel(ConversationListModel* model) {
  model_ = model;
  list_->setModel(model);
}

void ConversationSidebar::select(int64_t conversation) {
  const int row = model_ ? model_->rowOf(conversation) : -1;
  if (row >= 0) list_->setCurrentIndex(model_->index(row));
  else list_->clearSelection();
}

int64_t ConversationSidebar::currentId() const {
  return model_ && list_->currentIndex().isValid() ? model_->idAt(list_->currentIndex().row()) : 0;
}

}  // namespace ds::app
