// Markdown export of a conversation: escaping, the per-reply divergence summary, the document.
#include "app/desktop/chat/conversation_markdown.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <numeric>

namespace ds::app {
namespace {

constexpr std::string_view kNoBreakSpace = "\xc2\xa0";
constexpr std::string_view kAlwaysEscaped = "\\`*_[]<>#&|~$";

std::string file_base_name(const std::string& path) {
  const size_t slash = path.find_last_of("/\\");
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string utc_time(int64_t ms) {
  const std::time_t t = std::time_t(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// One line of text (no '\n'), escaped.
std::string escape_line(std::string_view line) {
  std::string out;
  size_t i = 0;
  for (; i < line.size() && (line[i] == ' ' || line[i] == '\t'); ++i)
    for (int n = line[i] == '\t' ? 4 : 1; n > 0; --n) out += kNoBreakSpace;
  if (i < line.size() && (line[i] == '-' || line[i] == '+' || line[i] == '=')) out += '\\';
  size_t digits = i;
  while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') ++digits;
  const size_t list_marker = digits > i && digits < line.size() && (line[digits] == '.' || line[digits] == ')')
                                 ? digits : std::string_view::npos;
  for (; i < line.size(); ++i) {
    if (i == list_marker || kAlwaysEscaped.find(line[i]) != std::string_view::npos) out += '\\';
    out += line[i];
  }
  return out;
}

std::vector<std::string> models_of(const ConversationExport& c, bool teacher) {
  std::vector<std::string> names;
  for (const MessageDivergence& d : c.divergence) {
    const std::string name = file_base_name(teacher ? d.teacher_path : d.student_path);
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

// The file names of the models that wrote the replies (messages.model_id), in order of first reply.
std::vector<std::string> reply_models(const ConversationExport& c) {
  std::vector<std::string> names;
  for (const Message& m : c.messages) {
    auto at = c.model_paths.find(m.model_id);
    if (m.role != Role::Assistant || at == c.model_paths.end()) continue;
    const std::string name = file_base_name(at->second);
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

std::string code_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + markdownCodeSpan(n);
  return out;
}

std::string role_heading(Role role, bool pair) {
  switch (role) {
    case Role::System: return "System";
    case Role::User: return "User";
    case Role::Assistant: return pair ? "Assistant (teacher; student read along)" : "Assistant";
  }
  return "Message";
}

// "> Divergence vs `student.gguf` over 8 tokens: mean KL 0.42 nats, max 1.40; top-1 agreement
// 5/8 (62%); largest KL: `a` 1.40, `b` 1.00, `c` 0.80"
std::string divergence_summary(const MessageDivergence& d) {
  const auto& t = d.tokens;
  const double sum = std::accumulate(t.begin(), t.end(), 0.0, [](double s, const auto& x) { return s + x.kl; });
  const size_t agree = size_t(std::count_if(t.begin(), t.end(), [](const auto& x) { return x.top1_agree; }));
  std::vector<size_t> order(t.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return t[a].kl > t[b].kl; });
  std::string out = "> **Divergence**";
  if (!d.student_path.empty()) out += " vs " + markdownCodeSpan(file_base_name(d.student_path));
  out += " over " + std::to_string(t.size()) + (t.size() == 1 ? " token" : " tokens");
  out += ": mean KL " + fixed(sum / double(t.size()), 3) + " nats, max " + fixed(t[order[0]].kl, 3);
  out += "; top-1 agreement " + std::to_string(agree) + "/" + std::to_string(t.size()) + " (" +
         fixed(100.0 * double(agree) / double(t.size()), 0) + "%); largest KL:";
  for (size_t k = 0; k < std::min<size_t>(3, order.size()); ++k)
    out += std::string(k ? "," : "") + " " + markdownCodeSpan(t[order[k]].label) + " " + fixed(t[order[k]].kl, 3);
  return out + "\n";
}

}  // namespace

std::string markdownEscape(std::string_view text) {
  std::string out;
  bool previous_blank = true;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    const bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
    if (!out.empty()) out += blank || previous_blank ? "\n" : "\\\n";  // a hard break inside a paragraph
    if (!blank) out += escape_line(line);
    previous_blank = blank;
    if (end == text.size()) break;
    start = end + (text.compare(end, 2, "\r\n") == 0 ? 2 : 1);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string markdownCodeSpan(std::string_view text) {
  if (text.empty()) return "(empty)";
  size_t longest = 0, run = 0;
  for (char ch : text) longest = std::max(longest, run = ch == '`' ? run + 1 : 0);
  std::string flat(text);
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  const std::string fence(longest + 1, '`');
  const bool pad = flat.front() == '`' || flat.back() == '`' || flat.front() == ' ' || flat.back() == ' ';
  return fence + (pad ? " " : "") + flat + (pad ? " " : "") + fence;
}

std::string markdownFileName(std::string_view title) {
  std::string name;
  for (char ch : title) {
    const auto b = static_cast<unsigned char>(ch);
    name += b < 0x20 || b == 0x7f || std::string_view("/\\:*?\"<>|").find(ch) != std::string_view::npos ? '_' : ch;
  }
  const size_t first = name.find_first_not_of(" ._");
  name = first == std::string::npos ? "" : name.substr(first, name.find_last_not_of(" .") - first + 1);
  if (name.size() > 80) {
    size_t cut = 80;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;  // whole characters
    name.resize(cut);
  }
  return (name.empty() ? "conversation" : name) + ".md";
}

std::string conversationMarkdown(const ConversationExport& c) {
  const Conversation& conv = c.conversation;
  std::string title = conv.title;  // a heading is one line
  std::replace_if(title.begin(), title.end(), [](char ch) { return ch == '\n' || ch == '\r' || ch == '\t'; }, ' ');
  std::string md = "# " + (title.empty() ? std::string("Untitled conversation") : markdownEscape(title)) + "\n\n";
  if (conv.created_at)
    md += "- Created: " + utc_time(conv.created_at) + ", last change " + utc_time(conv.updated_at) + "\n";
  const auto teachers = models_of(c, true), students = models_of(c, false), writers = reply_models(c);
  if (!teachers.empty()) md += "- Teacher: " + code_list(teachers) + "\n";
  if (!writers.empty()) md += "- Replies written by: " + code_list(writers) + "\n";
  if (teachers.empty() && writers.empty()) {
    if (!c.loaded_teacher.empty())
      md += "- Teacher: " + markdownCodeSpan(file_base_name(c.loaded_teacher)) +
            " (loaded when exported; the replies do not record their model)\n";
    else md += "- Models: not recorded (the replies do not record their model)\n";
  }
  if (!students.empty()) md += "- Student (pair turns): " + code_list(students) + "\n";
  md += "- Messages: " + std::to_string(c.messages.size()) + "\n";
  if (!conv.system_prompt.empty()) md += "\n## System prompt\n\n" + markdownEscape(conv.system_prompt) + "\n";
  for (const Message& m : c.messages) {
    auto d = std::find_if(c.divergence.begin(), c.divergence.end(),
                          [&](const MessageDivergence& x) { return x.message_id == m.id && !x.tokens.empty(); });
    const bool pair = d != c.divergence.end();
    std::string heading = role_heading(m.role, pair);
    if (auto at = c.model_paths.find(m.model_id); m.role == Role::Assistant && !pair && at != c.model_paths.end())
      heading += " (" + markdownCodeSpan(file_base_name(at->second)) + ")";
    md += "\n## " + heading + "\n\n";
    md += m.text.empty() ? std::string("*(empty)*") : markdownEscape(m.text);
    md += "\n";
    if (pair) md += "\n" + divergence_summary(*d);
  }
  return md;
}

}  // namespace ds::app
