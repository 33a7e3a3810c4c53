// CompareDialog: a prompt line, a tokens box and a list of student files with check boxes.
#include "app/desktop/tour/compare_dialog.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

#include "util/paths.h"

namespace ds::app {

namespace {
QString canonical(const QString& path) {
  const QFileInfo f(path);
  return f.exists() ? f.canonicalFilePath() : f.absoluteFilePath();
}
}  // namespace

CompareDialog::CompareDialog(const QString& prompt, const QStringList& ticked, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Compare students with the teacher"));
  prompt_ = new QLineEdit(prompt, this);
  max_tokens_ = new QSpinBox(this);
  max_tokens_->setRange(1, 1024);
  max_tokens_->setValue(32);
  list_ = new QListWidget(this);
  list_->setToolTip(tr("Each ticked student reads the teacher's greedy reply; the divergence timeline overlays them."));
  auto* add = new QPushButton(tr("Add GGUF..."), this);
  connect(add, &QPushButton::clicked, this, [this] {
    for (const QString& f : QFileDialog::getOpenFileNames(this, tr("Students to compare"), QString(),
                                                          tr("GGUF models (*.gguf);;All files (*)")))
      add_file(f, true);
  });
  if (auto assets = assets_dir()) {
    const QDir models(QString::fromStdString(*assets) + "/models");
    for (const QFileInfo& f : models.entryInfoList({"student-*.gguf"}, QDir::Files, QDir::Name))
      add_file(f.absoluteFilePath(), std::any_of(ticked.begin(), ticked.end(), [&](const QString& t) {
        return canonical(t) == canonical(f.absoluteFilePath());
      }));
  }
  for (const QString& f : ticked) add_file(f, true);  // ticked files from elsewhere

  auto* form = new QFormLayout;
  form->addRow(tr("Prompt the teacher answers:"), prompt_);
  form->addRow(tr("Reply tokens:"), max_tokens_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Compare"));
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(list_);
  layout->addWidget(add, 0, Qt::AlignLeft);
  layout->addWidget(buttons);
  resize(560, 420);
}

void CompareDialog::add_file(const QString& path, bool ticked) {
  const QString abs = canonical(path);
  for (int i = 0; i < list_->count(); ++i)
    if (list_->item(i)->data(Qt::UserRole).toString() == abs) return;
  auto* item = new QListWidgetItem(QFileInfo(abs).completeBaseName(), list_);
  item->setData(Qt::UserRole, abs);
  item->setToolTip(abs);
  item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
  item->setCheckState(ticked ? Qt::Checked : Qt::Unchecked);
}

QString CompareDialog::prompt() const { return prompt_->text(); }
int CompareDialog::maxTokens() const { return max_tokens_->value(); }

QStringList CompareDialog::students() const {
  QStringList out;
  for (int i = 0; i < list_->count(); ++i)
    if (list_->item(i)->checkState() == Qt::Checked) out << list_->item(i)->data(Qt::UserRole).toString();
  return out;
}

}  // namespace ds::app
