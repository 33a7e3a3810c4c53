// Markdown export of a stored conversation: store -> ConversationExport -> QSaveFile.
#include "app/desktop/chat/conversation_export.h"

#include <QDir>
#include <QSaveFile>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "app/desktop/chat/chat_store.h"
#include "app/desktop/chat/conversation_markdown.h"

namespace ds::app {

QString writeFileAtomically(const QString& path, const std::string& content) {
  QSaveFile file(path);
  const QString where = QDir::toNativeSeparators(path);
  // Unbuffered: a short write (a full disk, the file-size limit) shows in write()'s count. Buffered,
  // Qt 6.4 lets commit() succeed after a flush that wrote only part of the data.
  if (!file.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
    return QObject::tr("Cannot create %1: %2").arg(where, file.errorString());
  const qint64 written = file.write(content.data(), qint64(content.size()));
  if (written != qint64(content.size())) {
    const QString reason = file.error() == QFileDevice::NoError ? QString::fromLocal8Bit(std::strerror(errno))
                                                                 : file.errorString();
    file.cancelWriting();
    return QObject::tr("Cannot write %1: %2 of %3 bytes written (%4); the previous file, if any, is unchanged")
        .arg(where).arg(std::max<qint64>(written, 0)).arg(content.size()).arg(reason);
  }
  if (!file.commit())  // renames the temporary file over `path`
    return QObject::tr("Cannot write %1: %2; the previous file, if any, is unchanged").arg(where, file.errorString());
  return {};
}

QString exportConversationMarkdown(ChatStore& store, int64_t id, const QString& path, const QString& loaded_teacher) {
  QString store_error;
  auto previous = store.on_error;
  store.on_error = [&](const QString& e) { store_error = e; };
  ConversationExport c;
  auto conversation = store.get(id);
  if (conversation) {
    c.conversation = *conversation;
    c.messages = store.messages(id);
    c.divergence = store.divergence(id);
    for (const Message& m : c.messages)
      if (m.model_id && !c.model_paths.count(m.model_id))
        if (auto record = store.model(m.model_id)) c.model_paths[m.model_id] = record->path;
  }
  store.on_error = previous;
  if (!store_error.isEmpty())
    return QObject::tr("Cannot read conversation %1 from the store: %2").arg(id).arg(store_error);
  if (!conversation) return QObject::tr("There is no conversation %1 in the store (%2)").arg(id).arg(store.path());
  c.loaded_teacher = loaded_teacher.toStdString();
  return writeFileAtomically(path, conversationMarkdown(c));
}

QString defaultMarkdownPath(const QString& export_folder, const QString& title) {
  return QDir(export_folder).filePath(QString::fromStdString(markdownFileName(title.toStdString())));
}

}  // namespace ds::app
