// Store round trips through the public API on real SQLite files in temporary directories: models,
// conversations and messages, cascading deletes, full-text search, the query plans the app relies
// on, and the one-connection-per-thread rule. Runs and their data: test_store_runs.cpp.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

#include "support/store_fixture.h"

namespace ds {
namespace {

using test::StoreTest;
using test::write_file;

TEST_F(StoreTest, ModelsAddFindAndRegisterFile) {
  ModelRecord m{.path = "/models/teacher.gguf", .sha256 = std::string(64, 'a'), .size_bytes = 123,
                .architecture = "llama", .layer_layout = "AAAA"};
  int64_t id = store.add_model(m);
  EXPECT_EQ(store.add_model(m), id) << "same (path, sha256) must be the same row";
  m.sha256 = std::string(64, 'b');
  int64_t id2 = store.add_model(m);
  EXPECT_NE(id2, id) << "new contents at the same path are a new model";

  auto found = store.find_model("/models/teacher.gguf", std::string(64, 'a'));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, id);
  EXPECT_EQ(found->size_bytes, 123);
  EXPECT_EQ(found->architecture, "llama");
  EXPECT_EQ(found->layer_layout, "AAAA");
  EXPECT_GT(found->added_at, 0);
  EXPECT_FALSE(store.find_model("/models/teacher.gguf", std::string(64, 'c')));
  EXPECT_EQ(store.list_models().size(), 2u);
  EXPECT_THROW(store.add_model({.path = "x", .sha256 = "short"}), Error);

  // SHA-256 test vectors, then register: hashed once, reused while size and mtime are unchanged.
  EXPECT_EQ(sha256_file(write_file(dir.file("empty"), "")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string file = write_file(dir.file("m.gguf"), "abc");
  EXPECT_EQ(sha256_file(file), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  int hashed = 0;
  auto progress = [&](uint64_t done, uint64_t total) { hashed += done == total; };
  ModelRecord a = store.register_model_file(file, "llama", "AM", progress);
  ModelRecord b = store.register_model_file(file, "", "", progress);
  EXPECT_EQ(hashed, 1) << "an unchanged file must not be hashed again";
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(b.architecture, "llama");
  EXPECT_EQ(b.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ASSERT_TRUE(b.file_mtime_ns);
  write_file(file, "abcd");
  ModelRecord c = store.register_model_file(file, "llama", "AM", progress);
  EXPECT_EQ(hashed, 2);
  EXPECT_NE(c.id, a.id);
  EXPECT_EQ(c.size_bytes, 4);
  EXPECT_THROW(store.register_model_file(dir.file("missing.gguf"), "", ""), Error);
}

TEST_F(StoreTest, ConversationsAndMessages) {
  int64_t a = store.create_conversation({.title = "First", .system_prompt = "Be brief.",
                                         .settings_json = R"({"temperature":0.7})", .created_at = 1000});
  int64_t b = store.create_conversation({.title = "Second", .mode = "compare", .created_at = 2000});
  auto list = store.list_conversations();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, b) << "newest updated first";
  EXPECT_EQ(list[0].mode, "compare");
  EXPECT_EQ(list[1].system_prompt, "Be brief.");
  EXPECT_EQ(list[1].settings_json, R"({"temperature":0.7})");
  EXPECT_EQ(list[1].updated_at, 1000);

  int64_t model = store.add_model({.path = "/m", .sha256 = std::string(64, 'f')});
  int64_t run = make_run(RunKind::Generate, a);
  int64_t m0 = store.append_message({.conversation_id = a, .role = Role::User, .text = "Hello there"});
  int64_t m1 = store.append_message({.conversation_id = a, .role = Role::Assistant, .text = "Hi! ✨",
                                     .model_id = model, .run_id = run});
  auto messages = store.list_messages(a);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].id, m0);
  EXPECT_EQ(messages[0].position, 0);
  EXPECT_EQ(messages[0].model_id, 0);
  EXPECT_EQ(messages[1].id, m1);
  EXPECT_EQ(messages[1].position, 1);
  EXPECT_EQ(messages[1].role, Role::Assistant);
  EXPECT_EQ(messages[1].text, "Hi! ✨");
  EXPECT_EQ(messages[1].model_id, model);
  EXPECT_EQ(messages[1].run_id, run);
  EXPECT_EQ(store.list_conversations()[0].id, a) << "appending a message bumps updated_at";

  store.rename_conversation(b, "Renamed");
  EXPECT_EQ(store.get_conversation(b)->title, "Renamed");
  Conversation c = *store.get_conversation(a);
  c.system_prompt = "Be verbose.";
  c.settings_json = "{}";
  store.update_conversation(c);
  EXPECT_EQ(store.get_conversation(a)->system_prompt, "Be verbose.");
  EXPECT_THROW(store.rename_conversation(999, "x"), Error);
  EXPECT_EQ(store.list_conversations(1).size(), 1u);
  EXPECT_EQ(store.list_conversations(10, 1).size(), 1u);
  EXPECT_THROW(store.append_message({.conversation_id = 999, .text = "orphan"}), Error);
}

TEST_F(StoreTest, DeletingAConversationCascades) {
  int64_t keep = store.create_conversation({.title = "keep"});
  int64_t gone = store.create_conversation({.title = "gone"});
  int64_t run = make_run(RunKind::Generate, gone);
  int64_t other_run = make_run(RunKind::Generate, keep);
  int64_t msg = store.append_message({.conversation_id = gone, .text = "bye", .run_id = run});
  store.append_message({.conversation_id = keep, .text = "stay"});
  store.append_token({.message_id = msg, .index = 0, .token_id = 5, .piece = "bye"});
  store.append_token({.run_id = run, .index = 0, .token_id = 5, .piece = "bye"});
  store.append_divergence({.run_id = run, .index = 0});
  store.put_blob(Blob::from_floats({.run_id = run, .index = 0, .kind = "attention"}, {2}, std::vector<float>{1, 2}));

  store.delete_conversation(gone);
  EXPECT_FALSE(store.get_conversation(gone));
  EXPECT_TRUE(store.list_messages(gone).empty());
  EXPECT_TRUE(store.list_message_tokens(msg).empty());
  EXPECT_FALSE(store.get_run(run)) << "runs started from the conversation go with it";
  EXPECT_TRUE(store.list_run_tokens(run).empty());
  EXPECT_TRUE(store.list_divergence(run).empty());
  EXPECT_TRUE(store.list_blobs(run).empty());
  EXPECT_TRUE(store.search_conversations("bye").empty());
  EXPECT_EQ(store.list_messages(keep).size(), 1u);
  EXPECT_TRUE(store.get_run(other_run));
  EXPECT_EQ(store.check_integrity(), "ok");
}

// Regenerating a reply deletes the old assistant message; the next one takes the following position.
TEST_F(StoreTest, DeletingAMessageKeepsTheOthersAndTheSearchIndex) {
  int64_t c = store.create_conversation({.title = "chat"});
  store.append_message({.conversation_id = c, .role = Role::User, .text = "question"});
  int64_t reply = store.append_message({.conversation_id = c, .role = Role::Assistant, .text = "zanzibar"});
  store.delete_message(reply);
  auto msgs = store.list_messages(c);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].text, "question");
  EXPECT_TRUE(store.search_conversations("zanzibar").empty());
  EXPECT_THROW(store.delete_message(reply), Error);  // already gone
  store.append_message({.conversation_id = c, .role = Role::Assistant, .text = "again"});
  EXPECT_EQ(store.list_messages(c).back().position, 1);
  EXPECT_EQ(store.check_integrity(), "ok");
}

TEST_F(StoreTest, SearchFindsTitlesAndMessages) {
  int64_t a = store.create_conversation({.title = "Rust borrow checker", .created_at = 100});
  int64_t b = store.create_conversation({.title = "Dinner ideas", .created_at = 200});
  store.append_message({.conversation_id = a, .text = "Why does the compiler reject this?", .created_at = 300});
  store.append_message({.conversation_id = b, .text = "A quick pasta with garlic and lemon.", .created_at = 150});
  store.append_message({.conversation_id = b, .text = "Garlic bread, \"crispy\" (AND) lovely", .created_at = 160});

  auto hits = store.search_conversations("garlic");
  ASSERT_EQ(hits.size(), 1u) << "one hit per conversation";
  EXPECT_EQ(hits[0].conversation_id, b);
  EXPECT_NE(hits[0].message_id, 0);
  EXPECT_NE(hits[0].snippet.find("arlic"), std::string::npos) << hits[0].snippet;

  hits = store.search_conversations("borrow");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].message_id, 0) << "title match";
  EXPECT_EQ(store.search_conversations("compil").size(), 1u) << "last word is a prefix";
  EXPECT_EQ(store.search_conversations("pasta lemon").size(), 1u);
  EXPECT_TRUE(store.search_conversations("pasta compiler").empty()) << "all words must match one row";
  EXPECT_EQ(store.search_conversations("\"crispy\" (AND)").size(), 1u) << "quotes and operators are literal";
  EXPECT_TRUE(store.search_conversations("   ").empty());

  // Two conversations, newest updated first.
  store.append_message({.conversation_id = a, .text = "garlic is not a lifetime", .created_at = 400});
  hits = store.search_conversations("garlic");
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].conversation_id, a);
  EXPECT_EQ(store.search_conversations("garlic", 1).size(), 1u);

  store.rename_conversation(b, "Weekend cooking");
  EXPECT_EQ(store.search_conversations("weekend").size(), 1u);
  EXPECT_TRUE(store.search_conversations("dinner").empty()) << "old title left in the index";
}

TEST_F(StoreTest, QueriesUseTheirIndexes) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  auto plan = [&](const char* sql) {
    std::string out;
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, (std::string("EXPLAIN QUERY PLAN ") + sql).c_str(), -1, &s, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    while (sqlite3_step(s) == SQLITE_ROW) out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 3))) + "; ";
    sqlite3_finalize(s);
    return out;
  };
  EXPECT_NE(plan("SELECT * FROM tokens WHERE run_id = 1 ORDER BY idx").find("INDEX tokens_by_run"), std::string::npos);
  EXPECT_NE(plan("SELECT * FROM divergence WHERE run_id = 1 ORDER BY idx").find("PRIMARY KEY"), std::string::npos);
  EXPECT_NE(plan("SELECT * FROM conversations ORDER BY updated_at DESC").find("conversations_by_updated"),
            std::string::npos);
  EXPECT_NE(plan("SELECT * FROM messages WHERE conversation_id = 1 ORDER BY position").find("INDEX"),
            std::string::npos);
  EXPECT_NE(plan("SELECT * FROM train_steps WHERE run_id = 1 AND stage = 0 ORDER BY step").find("PRIMARY KEY"),
            std::string::npos);
  EXPECT_NE(plan("SELECT * FROM runs WHERE kind = 'eval' ORDER BY created_at DESC").find("runs_by_kind"),
            std::string::npos);
  sqlite3_close(db);
}

TEST_F(StoreTest, ConnectionBelongsToItsThread) {
  std::string error;
  std::thread([&] {
    try {
      store.list_runs();
    } catch (const Error& e) {
      error = e.what();
    }
  }).join();
  EXPECT_NE(error.find("thread"), std::string::npos) << error;
  // Another thread opens its own connection to the same file.
  std::thread([&] { Store(db_path).create_conversation({.title = "from another thread"}); }).join();
  EXPECT_EQ(store.list_conversations().size(), 1u);
}

}  // namespace
}  // namespace ds
