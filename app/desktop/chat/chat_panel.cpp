// ChatPanel: layout and button wiring.
#include "app/desktop/chat/chat_panel.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "app/desktop/chat/chat_view.h"
#include "app/desktop/chat/prompt_edit.h"

namespace ds::app {

ChatPanel::ChatPanel(QWidget* parent) : QWidget(parent) {
  info_ = new QLabel(this);
  info_->setTextFormat(Qt::PlainText);
  view_ = new ChatView(this);
  prompt_ = new PromptEdit(this);
  prompt_->setMaximumHeight(110);
  send_ = new QPushButton(tr("Send"), this);
  stop_ = new QPushButton(tr("Stop"), this);
  regenerate_ = new QPushButton(tr("Regenerate"), this);
  copy_ = new QPushButton(tr("Copy reply"), this);
  send_->setObjectName("send");
  stop_->setObjectName("stop");
  regenerate_->setObjectName("regenerate");
  copy_->setObjectName("copy");
  stop_->setEnabled(false);

  auto* buttons = new QHBoxLayout;
  buttons->addWidget(regenerate_);
  buttons->addWidget(copy_);
  buttons->addStretch(1);
  buttons->addWidget(stop_);
  buttons->addWidget(send_);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(info_);
  layout->addWidget(view_, 1);
  layout->addWidget(prompt_);
  layout->addLayout(buttons);

  connect(prompt_, &PromptEdit::submitted, this, &ChatPanel::send);
  connect(send_, &QPushButton::clicked, this, &ChatPanel::send);
  connect(stop_, &QPushButton::clicked, this, &ChatPanel::stopRequested);
  connect(regenerate_, &QPushButton::clicked, this, &ChatPanel::regenerateRequested);
  connect(copy_, &QPushButton::clicked, this, &ChatPanel::copyRequested);
}

void ChatPanel::setModel(ConversationModel* model) { view_->setModel(model); }

void ChatPanel::setInfo(const QString& text) { info_->setText(text); }

void ChatPanel::setBusy(bool busy) {
  busy_ = busy;
  stop_->setEnabled(busy);
  send_->setEnabled(!busy);
  regenerate_->setEnabled(!busy);
}

void ChatPanel::send() {
  const QString text = prompt_->toPlainText();
  if (busy_ || text.trimmed().isEmpty()) return;
  prompt_->clear();
  emit sendRequested(text);
}

}  // namespace ds::app
