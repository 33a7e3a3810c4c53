// Opening store files: a fresh file gets WAL/foreign keys/the current schema; a v1 file written
// with the v1 DDL migrates with its data; newer, corrupt and foreign files are refused with a
// message naming the path and are left byte for byte as they were.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "distilscope/store.h"
#include "store/impl.h"
#include "store/schema.h"
#include "support/temp_dir.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Raw SQL on a file, outside the store (to build old or foreign files).
void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

std::string open_error(const std::string& path) {
  try {
    Store s(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(StoreOpen, FreshFileIsSetUp) {
  test::TempDir dir;
  Store store(dir.file("new.db"));
  EXPECT_EQ(store.schema_version(), Store::kSchemaVersion);
  EXPECT_EQ(store.schema_version(), store::migrations().back().to_version);
  store::Db& db = store.impl().db;
  EXPECT_EQ(db.query_text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db.query_int("PRAGMA synchronous"), 1) << "NORMAL";
  EXPECT_EQ(db.query_int("PRAGMA foreign_keys"), 1);
  EXPECT_EQ(db.query_int("PRAGMA application_id"), store::kApplicationId);
  EXPECT_EQ(db.query_int("PRAGMA user_version"), Store::kSchemaVersion);
  EXPECT_EQ(store.check_integrity(), "ok");
}

TEST(StoreOpen, EmptyFileBecomesAStore) {
  test::TempDir dir;
  std::ofstream(dir.file("empty.db")).close();
  EXPECT_EQ(Store(dir.file("empty.db")).schema_version(), Store::kSchemaVersion);
}

TEST(StoreOpen, MigratesAVersion1File) {
  test::TempDir dir;
  std::string path = dir.file("v1.db");
  // The v1 schema exactly as first released, then v1-era rows written with plain SQL.
  raw_exec(path, std::string(store::migrations()[0].sql) + "PRAGMA user_version = 1;");
  raw_exec(path, R"sql(
    INSERT INTO models VALUES (1, '/m/teacher.gguf', ')sql" + std::string(64, 'a') + R"sql(', 42, 'llama', 'AAAA', 1000);
    INSERT INTO conversations VALUES (1, 'Old chat about lighthouses', 'chat', 'Be nice', '{}', 1000, 2000);
    INSERT INTO runs VALUES (1, 'generate', 'done', 1500, 1600, 'Tell me', '{}', 1, NULL, 1, '');
    INSERT INTO messages VALUES (1, 1, 0, 'user', 'Tell me about foghorns', NULL, NULL, 1500);
    INSERT INTO messages VALUES (2, 1, 1, 'assistant', 'Foghorns warn ships.', 1, 1, 1600);
    INSERT INTO tokens VALUES (1, 1, NULL, 0, 31, 'Fog', 12.5, 0.5, 0, NULL);
    INSERT INTO divergence VALUES (1, 0, 0.1, 0.2, 1, 0.5, 2.0, 2.5);
    INSERT INTO train_steps VALUES (1, 0, 0, 3.5, '{}', 0.001, 100.0, NULL, 1700);
    INSERT INTO runs VALUES (2, 'distill', 'done', 1800, 1900, '', '{}', NULL, NULL, NULL, '');
  )sql");

  Store store(path);
  EXPECT_EQ(store.schema_version(), Store::kSchemaVersion);
  auto model = store.get_model(1);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->architecture, "llama");
  EXPECT_FALSE(model->file_mtime_ns) << "v2 column is NULL for old rows";
  ASSERT_EQ(store.list_conversations().size(), 1u);
  EXPECT_EQ(store.list_conversations()[0].title, "Old chat about lighthouses");
  ASSERT_EQ(store.list_messages(1).size(), 2u);
  EXPECT_EQ(store.list_messages(1)[1].text, "Foghorns warn ships.");
  RunReplay run = store.load_run(1);
  EXPECT_EQ(run.run.prompt, "Tell me");
  ASSERT_EQ(run.tokens.size(), 1u);
  EXPECT_EQ(run.tokens[0].piece, "Fog");
  EXPECT_EQ(run.tokens[0].prob, 0.5);
  EXPECT_EQ(run.divergence.size(), 1u);
  EXPECT_EQ(run.train_steps.size(), 1u);
  // v3 built the search index from the rows that were already there.
  ASSERT_EQ(store.search_conversations("foghorn").size(), 1u);
  EXPECT_NE(store.search_conversations("foghorn")[0].message_id, 0);
  EXPECT_EQ(store.search_conversations("lighthouse").size(), 1u);
  // And the migrated file takes new rows.
  int64_t c = store.create_conversation({.title = "new"});
  store.append_message({.conversation_id = c, .text = "foghorns again"});
  EXPECT_EQ(store.search_conversations("foghorns").size(), 2u);
  // v4: an old distillation run has no importance scores and takes new ones.
  EXPECT_TRUE(store.load_run(2).importance.empty());
  store.put_layer_importance(std::vector<LayerImportance>{{.run_id = 2, .stage = 0, .layer = 1, .score = 0.5,
                                                           .method = "leave-one-out", .converted = true}});
  EXPECT_EQ(store.load_run(2).importance.size(), 1u);
  EXPECT_EQ(store.check_integrity(), "ok");
}

TEST(StoreOpen, RefusesANewerSchema) {
  test::TempDir dir;
  std::string path = dir.file("future.db");
  { Store store(path); }
  raw_exec(path, "PRAGMA user_version = 7");
  std::string before = read_bytes(path);
  std::string error = open_error(path);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find(cat("database schema version 7 is newer than this DistilScope (", Store::kSchemaVersion, ")")),
            std::string::npos)
      << error;
  EXPECT_EQ(read_bytes(path), before);
}

TEST(StoreOpen, RefusesACorruptFileAndLeavesItAlone) {
  test::TempDir dir;
  std::mt19937 rng(42);
  for (size_t size : {size_t(100), size_t(65536)}) {
    std::string path = dir.file(cat("random", size, ".db"));
    std::string bytes(size, '\0');
    for (char& b : bytes) b = char(rng());
    std::ofstream(path, std::ios::binary) << bytes;
    std::string error = open_error(path);
    EXPECT_NE(error.find(path), std::string::npos) << error;
    EXPECT_NE(error.find("not a usable SQLite database"), std::string::npos) << error;
    EXPECT_NE(error.find("left untouched"), std::string::npos) << error;
    EXPECT_EQ(read_bytes(path), bytes) << "the file must not be modified";
    EXPECT_FALSE(fs::exists(path + "-wal"));
    EXPECT_FALSE(fs::exists(path + "-journal"));
  }
}

TEST(StoreOpen, RefusesAnotherProgramsDatabase) {
  test::TempDir dir;
  std::string path = dir.file("other.db");
  raw_exec(path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'x');");
  std::string before = read_bytes(path);
  std::string error = open_error(path);
  EXPECT_NE(error.find("another program"), std::string::npos) << error;
  EXPECT_EQ(read_bytes(path), before);
}

TEST(StoreOpen, UnopenablePathNamesIt) {
  std::string error = open_error("/nonexistent-dir/sub/x.db");
  EXPECT_NE(error.find("/nonexistent-dir/sub/x.db"), std::string::npos) << error;
}

TEST(StoreOpen, ConcurrentFirstOpensAgree) {
  test::TempDir dir;
  std::string path = dir.file("race.db");
  std::vector<std::thread> threads;
  std::vector<std::string> errors(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      try {
        Store s(path);
        s.create_conversation({.title = cat("thread ", i)});
      } catch (const Error& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(Store(path).list_conversations().size(), 4u);
}

TEST(StoreOpen, DefaultPathFollowsXdg) {
  test::TempDir dir;
  std::string saved_xdg = getenv("XDG_DATA_HOME") ? getenv("XDG_DATA_HOME") : "";
  std::string saved_home = getenv("HOME") ? getenv("HOME") : "";
  setenv("XDG_DATA_HOME", dir.path().c_str(), 1);
  EXPECT_EQ(default_store_path(), (dir.path() / "distilscope" / "distilscope.db").string());
  EXPECT_TRUE(fs::is_directory(dir.path() / "distilscope"));
  setenv("XDG_DATA_HOME", "relative/ignored", 1);
  setenv("HOME", dir.path().c_str(), 1);
  EXPECT_EQ(default_store_path(false), (dir.path() / ".local/share/distilscope/distilscope.db").string());
  saved_xdg.empty() ? unsetenv("XDG_DATA_HOME") : setenv("XDG_DATA_HOME", saved_xdg.c_str(), 1);
  setenv("HOME", saved_home.c_str(), 1);
}

}  // namespace
}  // namespace ds
