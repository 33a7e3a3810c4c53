// A stored conversation as a Markdown document (File > Export conversation as Markdown): plain
// functions from store records to text, no Qt widgets, no files. Message text is escaped with
// backslashes so it renders as written (prose keeps wrapping and right-to-left shaping, which a
// code fence would not give); token labels go in code spans.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "distilscope/store_records.h"

namespace ds::app {

struct ConversationExport {
  Conversation conversation;
  std::vector<Message> messages;              // in order
  std::vector<MessageDivergence> divergence;  // of pair-turn replies (by message_id)
  std::map<int64_t, std::string> model_paths;  // the replies' models rows (messages.model_id) -> file path
  // The teacher loaded when exporting ("" : none). Shown only when no stored reply names its model
  // (replies stored before they recorded it, messages.model_id 0).
  std::string loaded_teacher;
};

// Title, models, system prompt, then one heading per message with its text (a reply's heading names
// the model file that wrote it when recorded); a pair reply with
// stored divergence gets one summary line (mean/max KL, top-1 agreement, the 3 largest-KL tokens).
std::string conversationMarkdown(const ConversationExport& c);

// Text that renders as written: Markdown punctuation backslash-escaped, line-leading markers
// (lists, headings, "=" underlines) neutralized, leading indentation kept as no-break spaces so it
// never turns into a code block, line breaks kept as hard breaks.
std::string markdownEscape(std::string_view text);
// `text` as an inline code span (enough backticks to hold the backticks inside it).
std::string markdownCodeSpan(std::string_view text);
// A file name from the conversation's title: characters file systems refuse become "_", at most
// 80 bytes (whole UTF-8 characters), ".md" appended; "conversation.md" when nothing is left.
std::string markdownFileName(std::string_view title);

}  // namespace ds::app
