// RAII wrappers over the SQLite C API (see sqlite.h): statement cache, binding, columns,
// transactions. Errors carry the file path and SQLite's own message.
#include "store/sqlite.h"

#include "util/error.h"

namespace ds::store {

// ---- Db -----------------------------------------------------------------------------------------

Db::Db(const std::string& path, int flags) : path_(path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    ds::fail("[store] ", path, ": cannot open: ", msg);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close(db_);
}

void Db::fail(int rc, std::string_view what) const {
  std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  if (db_ && sqlite3_errcode(db_) != rc) msg = sqlite3_errstr(rc);  // message belongs to another call
  ds::fail("[store] ", path_, ": ", what, ": ", msg);
}

void Db::exec(std::string_view sql, std::string_view what) {
  char* err = nullptr;
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    ds::fail("[store] ", path_, ": ", what, ": ", msg);
  }
}

Stmt Db::prepare(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), int(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) fail(rc, cat("preparing \"", sql.substr(0, 80), "\""));
    it = cache_.emplace(std::string(sql), std::unique_ptr<sqlite3_stmt, Finalize>(s)).first;
  }
  sqlite3_stmt* s = it->second.get();
  DS_CHECK(!sqlite3_stmt_busy(s), "[store] statement used twice at once: ", sql.substr(0, 80));
  return Stmt(*this, s);
}

int64_t Db::query_int(std::string_view sql) {
  Stmt s = prepare(sql);
  DS_CHECK(s.step(), "[store] ", path_, ": no result from ", sql);
  return s.i64(0);
}

std::string Db::query_text(std::string_view sql) {
  Stmt s = prepare(sql);
  DS_CHECK(s.step(), "[store] ", path_, ": no result from ", sql);
  return s.text(0);
}

// ---- Stmt ---------------------------------------------------------------------------------------

Stmt::~Stmt() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

static void check_bind(Db& db, int rc, int i) {
  if (rc != SQLITE_OK) db.fail(rc, cat("binding parameter ", i + 1));
}

Stmt& Stmt::bind(int i, int64_t v) {
  check_bind(*db_, sqlite3_bind_int64(s_, i + 1, v), i);
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  check_bind(*db_, sqlite3_bind_double(s_, i + 1, v), i);
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view text) {
  check_bind(*db_, sqlite3_bind_text64(s_, i + 1, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8), i);
  return *this;
}
Stmt& Stmt::bind(int i, std::span<const uint8_t> blob) {
  // A zero-length blob must still be a BLOB, not NULL: pass a valid pointer.
  static const uint8_t empty = 0;
  const void* p = blob.empty() ? &empty : blob.data();
  check_bind(*db_, sqlite3_bind_blob64(s_, i + 1, p, blob.size(), SQLITE_TRANSIENT), i);
  return *this;
}
Stmt& Stmt::bind(int i, std::nullopt_t) {
  check_bind(*db_, sqlite3_bind_null(s_, i + 1), i);
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string sql = sqlite3_sql(s_);
  db_->fail(rc, cat("\"", sql.substr(0, 60), sql.size() > 60 ? "...\"" : "\""));
}

void Stmt::run() {
  if (step()) ds::fail("[store] ", db_->path(), ": unexpected row from \"", sqlite3_sql(s_), "\"");
}

bool Stmt::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
int64_t Stmt::i64(int col) const { return sqlite3_column_int64(s_, col); }
double Stmt::f64(int col) const { return sqlite3_column_double(s_, col); }
std::optional<double> Stmt::opt_f64(int col) const {
  if (is_null(col)) return std::nullopt;
  return f64(col);
}
std::string Stmt::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(p, size_t(n)) : std::string();
}
std::vector<uint8_t> Stmt::blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
}

// ---- Transactions -------------------------------------------------------------------------------

Transaction::Transaction(Db& db) : db_(db), nested_(db.in_transaction()) {
  db_.exec(nested_ ? "SAVEPOINT ds_nested" : "BEGIN IMMEDIATE", "starting a write transaction");
}

Transaction::~Transaction() {
  if (done_) return;
  // Errors are ignored: SQLite may already have rolled back (e.g. after SQLITE_FULL).
  if (nested_)
    sqlite3_exec(db_.raw(), "ROLLBACK TO ds_nested; RELEASE ds_nested", nullptr, nullptr, nullptr);
  else if (db_.in_transaction())
    sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec(nested_ ? "RELEASE ds_nested" : "COMMIT", "committing");
  done_ = true;
}

ReadSnapshot::ReadSnapshot(Db& db) : db_(db), owns_(!db.in_transaction()) {
  if (owns_) db_.exec("BEGIN DEFERRED", "starting a read snapshot");
}

ReadSnapshot::~ReadSnapshot() {
  if (owns_ && db_.in_transaction()) sqlite3_exec(db_.raw(), "COMMIT", nullptr, nullptr, nullptr);
}

}  // namespace ds::store
