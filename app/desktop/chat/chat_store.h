// ChatStore: the conversation side of the SQLite store for the GUI thread. The connection is
// opened on first use, on the thread that uses it (the GUI thread: these queries take
// milliseconds). Failures do not throw: they return empty results and are reported through
// on_error with the store's message, so the UI can show them.
#pragma once
#include <QString>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "distilscope/store_records.h"

namespace ds {
class Store;
}

namespace ds::app {

class ChatStore {
 public:
  explicit ChatStore(QString path);  // "" : ds::default_store_path()
  ~ChatStore();

  std::function<void(const QString& message)> on_error;

  std::vector<Conversation> list();
  std::vector<SearchHit> search(const QString& query);
  std::optional<Conversation> get(int64_t id);
  int64_t create(const QString& title, const QString& system_prompt);  // 0 on failure
  bool rename(int64_t id, const QString& title);
  bool remove(int64_t id);
  bool update(const Conversation& c);
  std::vector<Message> messages(int64_t conversation);
  // model_id: the models row of the model that wrote it (assistant replies; 0: none). 0 on failure.
  int64_t append(int64_t conversation, Role role, const QString& text, int64_t model_id = 0);
  std::optional<ModelRecord> model(int64_t id);  // a models row (none: 0, unknown or failure)
  bool removeMessage(int64_t message_id);
  // A pair-turn reply's per-token divergence (schema v5), and those of a conversation's messages.
  bool saveDivergence(const MessageDivergence& d);
  std::vector<MessageDivergence> divergence(int64_t conversation);
  QString path() const { return path_; }

 private:
  Store* open();  // null (and on_error called) when the store cannot be opened
  template <class T, class F>
  T guarded(T fallback, F&& body);

  QString path_;
  std::unique_ptr<Store> store_;
  bool failed_ = false;
};

}  // namespace ds::app
