// Conversations (the chat sidebar) and their messages: CRUD, newest-first listing and full-text
// search through the FTS5 indexes that schema v3 keeps in step with the tables by triggers.
#include <algorithm>
#include <unordered_set>

#include "store/impl.h"
#include "util/error.h"

namespace ds {
namespace {

constexpr const char* kConversationColumns =
    "id, title, mode, system_prompt, settings_json, created_at, updated_at";

Conversation read_conversation(const store::Stmt& s) {
  Conversation c;
  c.id = s.i64(0);
  c.title = s.text(1);
  c.mode = s.text(2);
  c.system_prompt = s.text(3);
  c.settings_json = s.text(4);
  c.created_at = s.i64(5);
  c.updated_at = s.i64(6);
  return c;
}

// User text -> FTS5 query: every word quoted (so punctuation and FTS operators are literal),
// all words required, the last one as a prefix so results follow typing.
std::string fts_query(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char ch : text + ' ') {
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += ch;
      if (ch == '"') word += '"';
    }
  }
  std::string q;
  for (size_t i = 0; i < words.size(); ++i)
    q += cat(i ? " " : "", '"', words[i], '"', i + 1 == words.size() ? "*" : "");
  return q;
}

}  // namespace

int64_t Store::create_conversation(const Conversation& c) {
  store::Db& db = impl_->use();
  int64_t created = c.created_at ? c.created_at : now_ms();
  db.prepare(
        "INSERT INTO conversations (title, mode, system_prompt, settings_json, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)")
      .bind_all(c.title, c.mode, c.system_prompt, c.settings_json, created, c.updated_at ? c.updated_at : created)
      .run();
  return db.last_insert_id();
}

std::optional<Conversation> Store::get_conversation(int64_t id) {
  store::Stmt s =
      impl_->use().prepare(std::string("SELECT ") + kConversationColumns + " FROM conversations WHERE id = ?");
  s.bind(0, id);
  if (!s.step()) return std::nullopt;
  return read_conversation(s);
}

std::vector<Conversation> Store::list_conversations(int limit, int offset) {
  store::Stmt s = impl_->use().prepare(std::string("SELECT ") + kConversationColumns +
                                       " FROM conversations ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?");
  s.bind_all(limit, offset);
  std::vector<Conversation> out;
  while (s.step()) out.push_back(read_conversation(s));
  return out;
}

void Store::update_conversation(const Conversation& c) {
  store::Db& db = impl_->use();
  db.prepare(
        "UPDATE conversations SET title = ?, mode = ?, system_prompt = ?, settings_json = ?, updated_at = ? "
        "WHERE id = ?")
      .bind_all(c.title, c.mode, c.system_prompt, c.settings_json, now_ms(), c.id)
      .run();
  DS_CHECK(db.changes() == 1, "[store] no conversation ", c.id, " to update");
}

void Store::rename_conversation(int64_t id, const std::string& title) {
  store::Db& db = impl_->use();
  db.prepare("UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?").bind_all(title, now_ms(), id).run();
  DS_CHECK(db.changes() == 1, "[store] no conversation ", id, " to rename");
}

void Store::delete_conversation(int64_t id) {
  impl_->use().prepare("DELETE FROM conversations WHERE id = ?").bind(0, id).run();
}

int64_t Store::append_message(const Message& m) {
  store::Db& db = impl_->use();
  int64_t created = m.created_at ? m.created_at : now_ms();
  store::Transaction tx(db);
  db.prepare(
        "INSERT INTO messages (conversation_id, position, role, text, model_id, run_id, created_at) "
        "SELECT ?1, coalesce(max(position) + 1, 0), ?2, ?3, ?4, ?5, ?6 FROM messages WHERE conversation_id = ?1")
      .bind(0, m.conversation_id)
      .bind(1, to_string(m.role))
      .bind(2, m.text)
      .bind_id(3, m.model_id)
      .bind_id(4, m.run_id)
      .bind(5, created)
      .run();
  int64_t id = db.last_insert_id();
  db.prepare("UPDATE conversations SET updated_at = max(updated_at, ?) WHERE id = ?")
      .bind_all(created, m.conversation_id)
      .run();
  tx.commit();
  return id;
}

void Store::delete_message(int64_t id) {
  store::Db& db = impl_->use();
  db.prepare("DELETE FROM messages WHERE id = ?").bind(0, id).run();
  DS_CHECK(db.changes() == 1, "[store] no message ", id, " to delete");
}

std::vector<Message> Store::list_messages(int64_t conversation_id) {
  store::Stmt s = impl_->use().prepare(
      "SELECT id, conversation_id, position, role, text, model_id, run_id, created_at FROM messages "
      "WHERE conversation_id = ? ORDER BY position");
  s.bind(0, conversation_id);
  std::vector<Message> out;
  while (s.step()) {
    Message m;
    m.id = s.i64(0);
    m.conversation_id = s.i64(1);
    m.position = s.i32(2);
    m.role = parse_role(s.text(3));
    m.text = s.text(4);
    m.model_id = s.i64(5);  // NULL reads as 0
    m.run_id = s.i64(6);
    m.created_at = s.i64(7);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<SearchHit> Store::search_conversations(const std::string& query, int limit) {
  std::string q = fts_query(query);
  if (q.empty() || limit == 0) return {};
  store::Db& db = impl_->use();
  store::ReadSnapshot snapshot(db);
  std::vector<SearchHit> hits;
  std::unordered_set<int64_t> seen;
  {
    store::Stmt s = db.prepare(
        "SELECT c.id, c.title, c.updated_at FROM conversation_title_fts f JOIN conversations c ON c.id = f.rowid "
        "WHERE conversation_title_fts MATCH ?");
    s.bind(0, q);
    while (s.step())
      if (seen.insert(s.i64(0)).second) hits.push_back({s.i64(0), s.text(1), s.i64(2), 0, ""});
  }
  {
    // Best-ranked message first, so the one kept per conversation is its best match.
    store::Stmt s = db.prepare(
        "SELECT m.conversation_id, c.title, c.updated_at, m.id, "
        "snippet(message_text_fts, 0, '', '', '…', 12) FROM message_text_fts f "
        "JOIN messages m ON m.id = f.rowid JOIN conversations c ON c.id = m.conversation_id "
        "WHERE message_text_fts MATCH ? ORDER BY f.rank LIMIT 5000");
    s.bind(0, q);
    while (s.step())
      if (seen.insert(s.i64(0)).second) hits.push_back({s.i64(0), s.text(1), s.i64(2), s.i64(3), s.text(4)});
  }
  std::stable_sort(hits.begin(), hits.end(), [](const SearchHit& a, const SearchHit& b) {
    return a.updated_at != b.updated_at ? a.updated_at > b.updated_at : a.conversation_id > b.conversation_id;
  });
  if (limit > 0 && int(hits.size()) > limit) hits.resize(size_t(limit));
  return hits;
}

}  // namespace ds
