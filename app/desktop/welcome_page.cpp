// WelcomePage: layout and signals.
#include "app/desktop/welcome_page.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace ds::app {

WelcomePage::WelcomePage(QWidget* parent) : QWidget(parent) {
  auto* title = new QLabel(tr("<h2>DistilScope</h2>"), this);
  message_ = new QLabel(this);
  message_->setWordWrap(true);
  message_->setText(tr("No model is open. Open a GGUF file of the llama family (llama, Mistral-style, qwen2; "
                       "F32/F16/BF16/Q8_0/Q4_0). A tiny real model to try: stories260K.gguf."));
  auto* open = new QPushButton(tr("Open GGUF..."), this);
  auto* open_hf = new QPushButton(tr("Open Hugging Face folder..."), this);
  recent_ = new QListWidget(this);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(open);
  buttons->addWidget(open_hf);
  buttons->addStretch(1);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(title);
  layout->addWidget(message_);
  layout->addLayout(buttons);
  layout->addWidget(new QLabel(tr("Recent files:"), this));
  layout->addWidget(recent_, 1);
  connect(open, &QPushButton::clicked, this, &WelcomePage::openGgufRequested);
  connect(open_hf, &QPushButton::clicked, this, &WelcomePage::openHfRequested);
  connect(recent_, &QListWidget::itemActivated, this, [this](QListWidgetItem* i) { emit recentActivated(i->text()); });
}

void WelcomePage::setRecentFiles(const QStringList& files) {
  recent_->clear();
  recent_->addItems(files);
}

void WelcomePage::setMessage(const QString& text) { message_->setText(text); }

}  // namespace ds::app
