// SamplingPanel: form widgets <-> GenerationSettings.
#include "app/desktop/chat/sampling_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QPlainTextEdit>
#include <QSpinBox>

namespace ds::app {

namespace {
constexpr ChatTemplateKind k_kinds[] = {ChatTemplateKind::Plain,  ChatTemplateKind::ChatML, ChatTemplateKind::Llama2,
                                        ChatTemplateKind::Llama3, ChatTemplateKind::Mistral, ChatTemplateKind::Zephyr,
                                        ChatTemplateKind::Gemma,  ChatTemplateKind::Phi3};

QDoubleSpinBox* real(QWidget* parent, double lo, double hi, double step, int decimals) {
  auto* s = new QDoubleSpinBox(parent);
  s->setRange(lo, hi);
  s->setSingleStep(step);
  s->setDecimals(decimals);
  return s;
}

QSpinBox* integer(QWidget* parent, int lo, int hi, const QString& special = {}) {
  auto* s = new QSpinBox(parent);
  s->setRange(lo, hi);
  if (!special.isEmpty()) s->setSpecialValueText(special);
  return s;
}
}  // namespace

SamplingPanel::SamplingPanel(QWidget* parent) : QWidget(parent) {
  system_ = new QPlainTextEdit(this);
  system_->setPlaceholderText(tr("System prompt (optional)"));
  system_->setMaximumHeight(90);
  template_ = new QComboBox(this);
  template_->addItem(tr("From the model"));
  for (ChatTemplateKind k : k_kinds) template_->addItem(QString::fromUtf8(chat_template_name(k)));
  temperature_ = real(this, 0.0, 5.0, 0.05, 2);
  top_p_ = real(this, 0.01, 1.0, 0.01, 2);
  min_p_ = real(this, 0.0, 0.99, 0.01, 2);
  repeat_penalty_ = real(this, 0.5, 2.0, 0.05, 2);
  top_k_ = integer(this, 0, 100000, tr("off"));
  seed_ = integer(this, 0, 2147483647);
  max_tokens_ = integer(this, 1, 32768);
  context_ = integer(this, 0, 131072, tr("model's (at most 4096)"));
  context_->setSingleStep(256);
  temperature_->setToolTip(tr("0: greedy (always the most likely token)"));

  auto* form = new QFormLayout(this);
  form->addRow(tr("System prompt"), system_);
  form->addRow(tr("Chat format"), template_);
  form->addRow(tr("Temperature"), temperature_);
  form->addRow(tr("Top-k"), top_k_);
  form->addRow(tr("Top-p"), top_p_);
  form->addRow(tr("Min-p"), min_p_);
  form->addRow(tr("Repeat penalty"), repeat_penalty_);
  form->addRow(tr("Seed"), seed_);
  form->addRow(tr("Max tokens"), max_tokens_);
  form->addRow(tr("Context length"), context_);

  setSettings(load_generation_settings());
  auto changed_and_saved = [this] {
    save_generation_settings(settings());
    emit changed();
  };
  connect(system_, &QPlainTextEdit::textChanged, this, changed_and_saved);
  connect(template_, &QComboBox::currentIndexChanged, this, changed_and_saved);
  for (auto* s : {temperature_, top_p_, min_p_, repeat_penalty_})
    connect(s, &QDoubleSpinBox::valueChanged, this, changed_and_saved);
  for (auto* s : {top_k_, seed_, max_tokens_, context_}) connect(s, &QSpinBox::valueChanged, this, changed_and_saved);
}

GenerationSettings SamplingPanel::settings() const {
  GenerationSettings s;
  s.system_prompt = system_->toPlainText();
  s.template_from_model = template_->currentIndex() == 0;
  if (!s.template_from_model) s.chat_template = k_kinds[template_->currentIndex() - 1];
  s.sampling.temperature = float(temperature_->value());
  s.sampling.top_k = top_k_->value();
  s.sampling.top_p = float(top_p_->value());
  s.sampling.min_p = float(min_p_->value());
  s.sampling.repeat_penalty = float(repeat_penalty_->value());
  s.sampling.seed = uint64_t(seed_->value());
  s.max_tokens = max_tokens_->value();
  s.context_length = context_->value();
  return s;
}

void SamplingPanel::setSettings(const GenerationSettings& s) {
  const QSignalBlocker b0(system_), b1(template_), b2(temperature_), b3(top_p_), b4(min_p_), b5(repeat_penalty_),
      b6(top_k_), b7(seed_), b8(max_tokens_), b9(context_);
  system_->setPlainText(s.system_prompt);
  int idx = 0;
  if (!s.template_from_model)
    for (int i = 0; i < int(std::size(k_kinds)); ++i)
      if (k_kinds[i] == s.chat_template) idx = i + 1;
  template_->setCurrentIndex(idx);
  temperature_->setValue(s.sampling.temperature);
  top_k_->setValue(s.sampling.top_k);
  top_p_->setValue(s.sampling.top_p);
  min_p_->setValue(s.sampling.min_p);
  repeat_penalty_->setValue(s.sampling.repeat_penalty);
  seed_->setValue(int(std::min<uint64_t>(s.sampling.seed, 2147483647)));
  max_tokens_->setValue(s.max_tokens);
  context_->setValue(s.context_length);
}

void SamplingPanel::setSystemPrompt(const QString& text) {
  if (system_->toPlainText() != text) system_->setPlainText(text);
}

void SamplingPanel::setDetectedTemplate(ChatTemplateKind kind) {
  template_->setItemText(0, tr("From the model (%1)").arg(QString::fromUtf8(chat_template_name(kind))));
}

}  // namespace ds::app
