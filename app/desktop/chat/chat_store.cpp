// ChatStore: lazily opened Store, every call guarded.
#include "app/desktop/chat/chat_store.h"

#include "distilscope/store.h"

namespace ds::app {

ChatStore::ChatStore(QString path) : path_(std::move(path)) {}
ChatStore::~ChatStore() = default;

Store* ChatStore::open() {
  if (store_) return store_.get();
  if (failed_) return nullptr;
  try {
    if (path_.isEmpty()) path_ = QString::fromStdString(default_store_path(true));
    store_ = std::make_unique<Store>(path_.toStdString());
  } catch (const std::exception& e) {
    failed_ = true;  // report once; the chat still works without history
    if (on_error) on_error(QString::fromUtf8(e.what()));
  }
  return store_.get();
}

template <class T, class F>
T ChatStore::guarded(T fallback, F&& body) {
  Store* s = open();
  if (!s) return fallback;
  try {
    return body(*s);
  } catch (const std::exception& e) {
    if (on_error) on_error(QString::fromUtf8(e.what()));
    return fallback;
  }
}

std::vector<Conversation> ChatStore::list() {
  return guarded(std::vector<Conversation>{}, [](Store& s) { return s.list_conversations(); });
}

std::vector<SearchHit> ChatStore::search(const QString& query) {
  return guarded(std::vector<SearchHit>{}, [&](Store& s) { return s.search_conversations(query.toStdString()); });
}

std::optional<Conversation> ChatStore::get(int64_t id) {
  return guarded(std::optional<Conversation>{}, [&](Store& s) { return s.get_conversation(id); });
}

int64_t ChatStore::create(const QString& title, const QString& system_prompt) {
  return guarded(int64_t(0), [&](Store& s) {
    Conversation c;
    c.title = title.toStdString();
    c.system_prompt = system_prompt.toStdString();
    return s.create_conversation(c);
  });
}

bool ChatStore::rename(int64_t id, const QString& title) {
  return guarded(false, [&](Store& s) { return s.rename_conversation(id, title.toStdString()), true; });
}

bool ChatStore::remove(int64_t id) {
  return guarded(false, [&](Store& s) { return s.delete_conversation(id), true; });
}

bool ChatStore::update(const Conversation& c) {
  return guarded(false, [&](Store& s) { return s.update_conversation(c), true; });
}

std::vector<Message> ChatStore::messages(int64_t conversation) {
  return guarded(std::vector<Message>{}, [&](Store& s) { return s.list_messages(conversation); });
}

int64_t ChatStore::append(int64_t conversation, Role role, const QString& text, int64_t model_id) {
  return guarded(int64_t(0), [&](Store& s) {
    Message m;
    m.conversation_id = conversation;
    m.role = role;
    m.text = text.toStdString();
    m.model_id = model_id;
    return s.append_message(m);
  });
}

std::optional<ModelRecord> ChatStore::model(int64_t id) {
  if (id == 0) return std::nullopt;
  return guarded(std::optional<ModelRecord>{}, [&](Store& s) { return s.get_model(id); });
}

bool ChatStore::removeMessage(int64_t message_id) {
  return guarded(false, [&](Store& s) { return s.delete_message(message_id), true; });
}

bool ChatStore::saveDivergence(const MessageDivergence& d) {
  return guarded(false, [&](Store& s) { return s.put_message_divergence(d), true; });
}

std::vector<MessageDivergence> ChatStore::divergence(int64_t conversation) {
  return guarded(std::vector<MessageDivergence>{}, [&](Store& s) { return s.list_message_divergence(conversation); });
}

}  // namespace ds::app
