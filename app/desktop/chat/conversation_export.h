// Writing a stored conversation to a Markdown file (conversation_markdown.h gives the text). The
// file is written atomically (QSaveFile: a temporary file in the same folder, renamed over the
// target only when every byte is written), so a failed export never replaces a good file.
#pragma once
#include <QString>

#include <cstdint>
#include <string>

namespace ds::app {

class ChatStore;

// Writes `content` to `path` atomically. Returns "" or one readable error naming the path.
QString writeFileAtomically(const QString& path, const std::string& content);

// Reads conversation `id` (its messages and pair-turn divergence) from the store and writes it as
// Markdown to `path`. `loaded_teacher`: the model loaded now ("" : none; see ConversationExport).
// Returns "" or what went wrong.
QString exportConversationMarkdown(ChatStore& store, int64_t id, const QString& path, const QString& loaded_teacher);

// Where File > Export conversation as Markdown proposes to write: the export folder, the file name
// from the title.
QString defaultMarkdownPath(const QString& export_folder, const QString& title);

}  // namespace ds::app
