// QSettings keys and defaults.
#include "app/desktop/app_settings.h"

#include <QDir>
#include <QSettings>
#include <QStandardPaths>

namespace ds::app {

GenerationSettings load_generation_settings() {
  QSettings q;
  GenerationSettings s;
  q.beginGroup("generation");
  s.sampling.temperature = q.value("temperature", double(s.sampling.temperature)).toFloat();
  s.sampling.top_k = q.value("top_k", s.sampling.top_k).toInt();
  s.sampling.top_p = q.value("top_p", double(s.sampling.top_p)).toFloat();
  s.sampling.min_p = q.value("min_p", double(s.sampling.min_p)).toFloat();
  s.sampling.repeat_penalty = q.value("repeat_penalty", double(s.sampling.repeat_penalty)).toFloat();
  s.sampling.seed = q.value("seed", qulonglong(s.sampling.seed)).toULongLong();
  s.max_tokens = q.value("max_tokens", s.max_tokens).toInt();
  s.context_length = q.value("context_length", s.context_length).toInt();
  s.system_prompt = q.value("system_prompt", s.system_prompt).toString();
  const QString tmpl = q.value("template", "model").toString();
  s.template_from_model = tmpl == "model";
  if (!s.template_from_model) {
    try {
      s.chat_template = parse_chat_template_name(tmpl.toStdString());
    } catch (const std::exception&) {
      s.template_from_model = true;  // an unknown name in an old settings file: use the model's
    }
  }
  q.endGroup();
  return s;
}

void save_generation_settings(const GenerationSettings& s) {
  QSettings q;
  q.beginGroup("generation");
  q.setValue("temperature", double(s.sampling.temperature));
  q.setValue("top_k", s.sampling.top_k);
  q.setValue("top_p", double(s.sampling.top_p));
  q.setValue("min_p", double(s.sampling.min_p));
  q.setValue("repeat_penalty", double(s.sampling.repeat_penalty));
  q.setValue("seed", qulonglong(s.sampling.seed));
  q.setValue("max_tokens", s.max_tokens);
  q.setValue("context_length", s.context_length);
  q.setValue("system_prompt", s.system_prompt);
  q.setValue("template", s.template_from_model ? QString("model") : QString(chat_template_name(s.chat_template)));
  q.endGroup();
}

QStringList recent_files() { return QSettings().value("files/recent").toStringList(); }

void add_recent_file(const QString& path) {
  QStringList list = recent_files();
  list.removeAll(path);
  list.prepend(path);
  while (list.size() > 10) list.removeLast();
  QSettings().setValue("files/recent", list);
}

QString last_model() { return QSettings().value("files/last_model").toString(); }
void set_last_model(const QString& path) { QSettings().setValue("files/last_model", path); }
QString device_select() { return QSettings().value("device/select").toString(); }
void set_device_select(const QString& select) { QSettings().setValue("device/select", select); }

QString export_dir() {
  QString d = QSettings().value("files/export_dir").toString();
  if (!d.isEmpty()) return d;
  QString pictures = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
  return QDir(pictures.isEmpty() ? QDir::homePath() : pictures).filePath("DistilScope");
}
void set_export_dir(const QString& dir) { QSettings().setValue("files/export_dir", dir); }

QByteArray window_state(const char* key) { return QSettings().value(QString("window/") + key).toByteArray(); }
void set_window_state(const char* key, const QByteArray& value) { QSettings().setValue(QString("window/") + key, value); }

}  // namespace ds::app
