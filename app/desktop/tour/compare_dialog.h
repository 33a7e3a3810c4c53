// CompareDialog: Chat > Compare students... Chooses the prompt the teacher answers, the reply's
// length, and the students compared against the teacher (the GGUF files of assets/models/, the
// Mamba students ticked, plus any file added with "Add GGUF...").
#pragma once
#include <QDialog>
#include <QStringList>

class QLineEdit;
class QListWidget;
class QSpinBox;

namespace ds::app {

class CompareDialog : public QDialog {
  Q_OBJECT
 public:
  CompareDialog(const QString& prompt, const QStringList& ticked, QWidget* parent = nullptr);

  QString prompt() const;
  QStringList students() const;  // the ticked files, in list order
  int maxTokens() const;

 private:
  void add_file(const QString& path, bool ticked);

  QLineEdit* prompt_;
  QSpinBox* max_tokens_;
  QListWidget* list_;
};

}  // namespace ds::app
