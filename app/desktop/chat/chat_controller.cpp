// ChatController: conversation flow between the models, the store and the engine host.
#include "app/desktop/chat/chat_controller.h"

#include <QClipboard>
#include <QGuiApplication>

#include <algorithm>
#include <map>

#include "app/desktop/chat/token_divergence.h"
#include "app/desktop/engine_host.h"

namespace ds::app {

ChatController::ChatController(EngineHost& host, ChatStore& store, QObject* parent)
    : QObject(parent), host_(host), store_(store) {
  EngineWorker* w = host_.worker();
  connect(w, &EngineWorker::tokenGenerated, this, &ChatController::on_token);
  connect(w, &EngineWorker::generationFinished, this, &ChatController::on_finished);
  connect(w, &EngineWorker::failed, this, &ChatController::on_failed);
  settings_ = load_generation_settings();
}

void ChatController::set_busy(uint64_t request) {
  const bool was = busy();
  request_ = request;
  if (was != busy()) emit busyChanged(busy());
}

bool ChatController::send(const QString& text) {
  if (busy() || text.trimmed().isEmpty()) return false;
  if (!paused_.isEmpty()) {
    emit errorOccurred(tr("Sending a message"), paused_);
    return false;
  }
  if (!model_loaded_) {
    emit errorOccurred(tr("Sending a message"), tr("No model is loaded. Open a GGUF file first (File > Open GGUF...)."));
    return false;
  }
  if (current_ == 0) {
    current_ = store_.create(text.simplified().left(48), settings_.system_prompt);
    refreshList();
  } else if (auto c = store_.get(current_); c && QString::fromStdString(c->system_prompt) != settings_.system_prompt) {
    c->system_prompt = settings_.system_prompt.toStdString();
    store_.update(*c);
  }
  ChatEntry user{Role::User, text, current_ ? store_.append(current_, Role::User, text) : 0, false};
  conversation_.append(user);
  start_reply();
  return true;
}

void ChatController::start_reply() {
  GenerationRequest r;
  r.messages = conversation_.toChatMessages(settings_.system_prompt);
  r.template_from_model = settings_.template_from_model;
  r.chat_template = settings_.chat_template;
  r.sampling = settings_.sampling;
  r.max_tokens = settings_.max_tokens;
  r.context_length = settings_.context_length;
  r.mode = mode_;
  if (probes_) r.probes = probes_();
  ChatEntry reply{Role::Assistant, QString(), 0, true};
  if (mode_ == ChatMode::Pair) reply.teacher = teacher_path_, reply.student = student_path_;
  const bool student = mode_ == ChatMode::Student;  // in a pair turn the teacher answers
  reply.model_id = student ? student_model_id_ : teacher_model_id_;
  reply.model = student ? student_path_ : teacher_path_;
  reply_row_ = conversation_.append(std::move(reply));
  set_busy(host_.generate(r));
}

void ChatController::on_token(const TokenChunk& c) {
  if (c.request != request_ || reply_row_ < 0) return;  // a stopped or superseded generation
  if (!c.has_divergence) return conversation_.appendText(reply_row_, c.text);
  TokenMark mark;
  mark.data = divergenceRecord(c.divergence, [this](int32_t id) { return label(id); });
  mark.kl = mark.data.kl;
  mark.tooltip = divergenceTooltip(mark.data, conversation_.entry(reply_row_).student);
  conversation_.appendText(reply_row_, c.text, &mark);
}

std::string ChatController::label(int32_t id) const {
  return vocab_ && id >= 0 && size_t(id) < vocab_->size() ? (*vocab_)[size_t(id)] : "#" + std::to_string(id);
}

QString ChatController::tokenTooltip(const TokenDivergence& d) const {
  return divergenceTooltip(divergenceRecord(d, [this](int32_t id) { return label(id); }), student_path_);
}

void ChatController::on_finished(const GenerationSummary& s) {
  if (s.request != request_) return;
  finish_reply();
  refreshList();
  emit replyFinished(s);
}

void ChatController::finish_reply() {
  if (reply_row_ < 0) return;
  const QString text = conversation_.entry(reply_row_).text;
  if (text.isEmpty()) {
    conversation_.removeLast();  // nothing came (stopped at once): no empty reply
  } else {
    const ChatEntry& e = conversation_.entry(reply_row_);
    const int64_t id = current_ ? store_.append(current_, Role::Assistant, text, e.model_id) : 0;
    if (id && !e.marks.empty()) store_.saveDivergence(messageDivergence(e, id));
    conversation_.finish(reply_row_, id);
  }
  reply_row_ = -1;
  set_busy(0);
}

void ChatController::on_failed(const QString& what, const QString& message, quint64 request) {
  if (request != 0 && request == request_) {
    if (conversation_.entry(reply_row_).text.isEmpty()) conversation_.removeLast();
    else conversation_.finish(reply_row_, 0);
    reply_row_ = -1;
    set_busy(0);
  }
  if (request != 0) emit errorOccurred(what, message);  // device/model errors are shown by the main window
}

void ChatController::stop() {
  if (busy()) host_.stop();
}

bool ChatController::regenerate() {
  if (busy() || !model_loaded_ || !paused_.isEmpty()) return false;
  const int row = conversation_.lastRow(Role::Assistant);
  if (row < 0 || row != conversation_.rowCount() - 1) return false;
  if (int64_t id = conversation_.entry(row).message_id) store_.removeMessage(id);
  conversation_.removeLast();
  start_reply();
  return true;
}

void ChatController::copyLastReply() {
  const int row = conversation_.lastRow(Role::Assistant);
  if (row >= 0) QGuiApplication::clipboard()->setText(conversation_.entry(row).text);
}

void ChatController::newConversation() {
  if (busy()) {  // keep what was generated so far; later tokens of that request are ignored
    stop();
    finish_reply();
  }
  current_ = 0;
  conversation_.setEntries({});
  emit conversationOpened(0, settings_.system_prompt);
}

void ChatController::openConversation(qint64 id) {
  if (id == current_) return;
  if (busy()) {
    stop();
    finish_reply();
  }
  auto c = store_.get(id);
  if (!c) return;
  current_ = id;
  std::vector<ChatEntry> entries;
  std::map<int64_t, QString> model_paths;  // one lookup per model, not per message
  for (const Message& m : store_.messages(id)) {
    ChatEntry& e = entries.emplace_back(ChatEntry{m.role, QString::fromStdString(m.text), m.id, false});
    if (m.model_id == 0) continue;
    auto [at, added] = model_paths.try_emplace(m.model_id);
    if (added)
      if (auto record = store_.model(m.model_id)) at->second = QString::fromStdString(record->path);
    e.model_id = m.model_id;
    e.model = at->second;
  }
  for (const MessageDivergence& d : store_.divergence(id)) {
    auto e = std::find_if(entries.begin(), entries.end(), [&](const ChatEntry& x) { return x.message_id == d.message_id; });
    if (e == entries.end()) continue;
    if (QString error = restoreMarks(*e, d); !error.isEmpty()) emit errorOccurred(tr("Opening a conversation"), error);
  }
  conversation_.setEntries(std::move(entries));
  emit conversationOpened(id, QString::fromStdString(c->system_prompt));
}

void ChatController::renameConversation(qint64 id, const QString& title) {
  store_.rename(id, title);
  refreshList();
}

void ChatController::deleteConversation(qint64 id) {
  store_.remove(id);
  if (id == current_) newConversation();
  refreshList();
}

void ChatController::search(const QString& query) {
  query_ = query.trimmed();
  refreshList();
}

void ChatController::refreshList() {
  if (query_.isEmpty()) list_.setConversations(store_.list());
  else list_.setSearchHits(store_.search(query_));
}

}  // namespace ds::app
