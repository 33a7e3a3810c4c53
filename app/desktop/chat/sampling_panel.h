// SamplingPanel: the system prompt, chat format and sampling settings of the next reply
// (temperature, top-k, top-p, min-p, seed, max tokens, context length), saved to QSettings.
#pragma once
#include <QWidget>

#include "app/desktop/app_settings.h"

class QComboBox;
class QDoubleSpinBox;
class QPlainTextEdit;
class QSpinBox;

namespace ds::app {

class SamplingPanel : public QWidget {
  Q_OBJECT
 public:
  explicit SamplingPanel(QWidget* parent = nullptr);
  GenerationSettings settings() const;
  void setSettings(const GenerationSettings& s);
  void setSystemPrompt(const QString& text);  // e.g. from an opened conversation
  void setDetectedTemplate(ChatTemplateKind kind);

 signals:
  void changed();

 private:
  QPlainTextEdit* system_;
  QComboBox* template_;
  QDoubleSpinBox *temperature_, *top_p_, *min_p_, *repeat_penalty_;
  QSpinBox *top_k_, *seed_, *max_tokens_, *context_;
};

}  // namespace ds::app
