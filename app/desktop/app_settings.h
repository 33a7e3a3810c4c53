// Preferences kept in QSettings (organization "DistilScope", application "distilscope"): sampling
// and generation settings, recent files, the last model, the device choice, the export folder,
// window layout. Free functions over QSettings so any widget can read them.
#pragma once
#include <QByteArray>
#include <QString>
#include <QStringList>

#include "distilscope/sampling.h"
#include "text/chat_template.h"

namespace ds::app {

struct GenerationSettings {
  SamplerParams sampling;
  int max_tokens = 256;
  int context_length = 0;  // 0: the model's trained context, at most 4096
  QString system_prompt;
  bool template_from_model = true;
  ChatTemplateKind chat_template = ChatTemplateKind::Plain;  // when not from the model
};

GenerationSettings load_generation_settings();
void save_generation_settings(const GenerationSettings& s);

QStringList recent_files();
void add_recent_file(const QString& path);  // most recent first, at most 10
QString last_model();
void set_last_model(const QString& path);
QString device_select();                    // "" : best device
void set_device_select(const QString& select);
QString export_dir();                       // default: ~/Pictures/DistilScope (or the home folder)
void set_export_dir(const QString& dir);
QByteArray window_state(const char* key);
void set_window_state(const char* key, const QByteArray& value);

}  // namespace ds::app
