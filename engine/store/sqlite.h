// Thin RAII layer over the SQLite C API for engine/store: a connection with a cache of prepared
// statements, and a statement handle with bind/column helpers. Every failure throws ds::Error
// naming the database file, what was being done and SQLite's message.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ds::store {

class Db;

// A cached prepared statement, borrowed from its Db; reset (bindings cleared) when it goes out of
// scope. Columns and parameters are 0-based here (parameters are 1-based in SQLite).
class Stmt {
 public:
  Stmt(Db& db, sqlite3_stmt* s) : db_(&db), s_(s) {}
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, int32_t v) { return bind(i, int64_t(v)); }
  Stmt& bind(int i, bool v) { return bind(i, int64_t(v)); }
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view text);
  Stmt& bind(int i, const std::string& text) { return bind(i, std::string_view(text)); }
  Stmt& bind(int i, const char* text) { return bind(i, std::string_view(text)); }
  Stmt& bind(int i, std::span<const uint8_t> blob);
  Stmt& bind(int i, std::nullopt_t);
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) { return v ? bind(i, *v) : bind(i, std::nullopt); }
  // Binds an id where 0 means "none" (NULL in the database).
  Stmt& bind_id(int i, int64_t id) { return id ? bind(i, id) : bind(i, std::nullopt); }
  // Binds each argument to consecutive parameters from 0.
  template <class... Args>
  Stmt& bind_all(const Args&... args) {
    int i = 0;
    (bind(i++, args), ...);
    return *this;
  }

  bool step();   // true: a row is available; false: done
  void run();    // steps once, expecting no row

  bool is_null(int col) const;
  int64_t i64(int col) const;
  int32_t i32(int col) const { return int32_t(i64(col)); }
  double f64(int col) const;
  std::optional<double> opt_f64(int col) const;
  std::string text(int col) const;
  std::vector<uint8_t> blob(int col) const;

 private:
  Db* db_;
  sqlite3_stmt* s_;
};

class Db {
 public:
  // Opens without touching the file (SQLite reads it lazily); flags as for sqlite3_open_v2.
  Db(const std::string& path, int flags);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* raw() const { return db_; }
  const std::string& path() const { return path_; }

  // Runs one or more statements that return nothing interesting.
  void exec(std::string_view sql, std::string_view what);
  // The cached statement for this SQL text (prepared on first use).
  Stmt prepare(std::string_view sql);
  // Single value of a one-row query ("PRAGMA user_version").
  int64_t query_int(std::string_view sql);
  std::string query_text(std::string_view sql);

  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  bool in_transaction() const { return !sqlite3_get_autocommit(db_); }

  // "[store] <path>: <what>: <sqlite message>"
  [[noreturn]] void fail(int rc, std::string_view what) const;

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  struct Finalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, Finalize>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT, or a SAVEPOINT when already inside a transaction; rolls back in the
// destructor unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Db& db_;
  bool nested_ = false;
  bool done_ = false;
};

// A read snapshot: BEGIN DEFERRED ... COMMIT (or nothing when already in a transaction).
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Db& db);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  Db& db_;
  bool owns_ = false;
};

}  // namespace ds::store
