// DeviceDialog: every Vulkan device in selection order with its type, memory and, for unusable
// ones, the reason (ds::list_devices()). The choice is saved as a preference and used at the next
// start (the explorer surface is created on the device the app started with).
#pragma once
#include <QDialog>

class QTableWidget;

namespace ds::app {

class DeviceDialog : public QDialog {
  Q_OBJECT
 public:
  DeviceDialog(const QString& current_device, QWidget* parent = nullptr);
  QString selection() const;  // "" : automatic; else the device index

 private:
  QTableWidget* table_;
};

}  // namespace ds::app
