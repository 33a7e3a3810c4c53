// DeviceDialog: the device table and the saved choice.
#include "app/desktop/dialogs/device_dialog.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>

#include "app/desktop/app_settings.h"
#include "distilscope/device.h"
#include "util/error.h"

namespace ds::app {

DeviceDialog::DeviceDialog(const QString& current_device, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Vulkan device"));
  table_ = new QTableWidget(this);
  table_->setColumnCount(5);
  table_->setHorizontalHeaderLabels({tr("Device"), tr("Type"), tr("Memory"), tr("Driver"), tr("Status")});
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->insertRow(0);
  table_->setItem(0, 0, new QTableWidgetItem(tr("Automatic (best usable device)")));
  QString error;
  std::vector<DeviceInfo> devices;
  try {
    devices = list_devices();
  } catch (const std::exception& e) {
    error = QString::fromUtf8(e.what());
  }
  const QString saved = device_select();
  int select_row = 0;
  for (const DeviceInfo& d : devices) {
    const int row = table_->rowCount();
    table_->insertRow(row);
    auto* name = new QTableWidgetItem(QString::fromStdString(d.name));
    name->setData(Qt::UserRole, QString::number(d.index));
    table_->setItem(row, 0, name);
    table_->setItem(row, 1, new QTableWidgetItem(QString::fromStdString(d.type)));
    table_->setItem(row, 2, new QTableWidgetItem(QString::fromStdString(format_bytes(double(d.device_local_bytes)))));
    table_->setItem(row, 3, new QTableWidgetItem(QString::fromStdString(d.driver)));
    table_->setItem(row, 4, new QTableWidgetItem(d.usable ? tr("usable") : QString::fromStdString(d.reason)));
    if (!d.usable)
      for (int c = 0; c < 5; ++c) table_->item(row, c)->setFlags(Qt::ItemIsEnabled);  // shown, not selectable
    if (saved == QString::number(d.index)) select_row = row;
  }
  table_->selectRow(select_row);
  table_->resizeColumnsToContents();

  auto* note = new QLabel(this);
  note->setWordWrap(true);
  note->setText(error.isEmpty() ? tr("In use now: %1. A new choice takes effect at the next start.").arg(current_device)
                                : tr("Could not list devices: %1").arg(error));
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(table_);
  layout->addWidget(note);
  layout->addWidget(buttons);
  resize(760, 300);
}

QString DeviceDialog::selection() const {
  const int row = table_->currentRow();
  if (row <= 0) return {};
  return table_->item(row, 0)->data(Qt::UserRole).toString();
}

}  // namespace ds::app
