// Opening a store: refuse files that are not ours (without writing a byte to them), set the
// connection up (WAL, synchronous=NORMAL, foreign keys, busy timeout), migrate, and the few
// connection-level operations (transactions, integrity check, default path).
#include <cstdlib>
#include <filesystem>

#include "store/impl.h"
#include "store/schema.h"
#include "util/error.h"

namespace ds {

namespace fs = std::filesystem;

std::string default_store_path(bool create_dir) {
  fs::path dir;
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg && fs::path(xdg).is_absolute()) {  // the XDG spec ignores relative values
    dir = fs::path(xdg) / "distilscope";
  } else {
    const char* home = std::getenv("HOME");
    DS_CHECK(home && *home, "[store] neither XDG_DATA_HOME nor HOME is set; pass a database path");
    dir = fs::path(home) / ".local" / "share" / "distilscope";
  }
  if (create_dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    DS_CHECK(!ec, "[store] cannot create ", dir.string(), ": ", ec.message());
  }
  return (dir / "distilscope.db").string();
}

store::Db& Store::Impl::use() {
  DS_CHECK(std::this_thread::get_id() == owner, "[store] ", db.path(),
           ": connection used from a thread that did not open it (open one Store per thread)");
  return db;
}

namespace {

// Reads the header fields; throws (file untouched) unless this is an empty/new file or ours.
int check_identity(store::Db& db) {
  int64_t app_id = 0, version = 0, objects = 0;
  try {
    store::ReadSnapshot snapshot(db);  // all three from one state of the file (others may be creating it)
    app_id = db.query_int("PRAGMA application_id");
    version = db.query_int("PRAGMA user_version");
    objects = db.query_int("SELECT count(*) FROM sqlite_schema");
  } catch (const Error& e) {
    fail("[store] ", db.path(), " is not a usable SQLite database (", e.what(), "); the file was left untouched");
  }
  bool empty = app_id == 0 && version == 0 && objects == 0;
  if (!empty && app_id != store::kApplicationId)
    fail("[store] ", db.path(), " is an SQLite database of another program (application_id ", app_id, ", ",
         objects, " schema objects), not a DistilScope store; the file was left untouched");
  if (version > Store::kSchemaVersion)
    fail("[store] ", db.path(), ": database schema version ", version, " is newer than this DistilScope (",
         Store::kSchemaVersion, "); open it with a newer DistilScope. The file was left untouched");
  return int(version);
}

}  // namespace

Store::Store(const std::string& path, const StoreOptions& options) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  impl_ = std::make_unique<Impl>(path, flags);
  store::Db& db = impl_->db;
  sqlite3_busy_timeout(db.raw(), options.busy_timeout_ms);
  check_identity(db);
  DS_CHECK(!sqlite3_db_readonly(db.raw(), "main"), "[store] ", path,
           " can only be opened read-only (file or directory permissions); the store needs to write");

  // From here on the file is ours (or new) and may be written.
  std::string mode = db.query_text("PRAGMA journal_mode = WAL");
  DS_CHECK(mode == "wal", "[store] ", path, ": cannot use WAL journaling (got \"", mode,
           "\"); is the file on a network or read-only filesystem?");
  // journal_size_limit: after the WAL restarts from its beginning, trim the file back to 64 MiB.
  db.exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 67108864",
          "setting up the connection");
  DS_CHECK(db.query_int("PRAGMA foreign_keys") == 1, "[store] ", path, ": SQLite built without foreign keys");
  store::migrate(db, kSchemaVersion);
  impl_->version = int(db.query_int("PRAGMA user_version"));
}

Store::~Store() = default;
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;

Store::Impl& Store::impl() { return *impl_; }
const std::string& Store::path() const { return impl_->db.path(); }
int Store::schema_version() const { return impl_->version; }

void Store::transaction(const std::function<void()>& body) {
  store::Transaction tx(impl_->use());
  body();
  tx.commit();
}

std::string Store::check_integrity() {
  store::Db& db = impl_->use();
  std::string result;
  store::Stmt s = db.prepare("PRAGMA integrity_check");
  while (s.step()) result += (result.empty() ? "" : "\n") + s.text(0);
  std::string problems;  // foreign keys and search indexes
  store::Stmt fk = db.prepare("PRAGMA foreign_key_check");
  while (fk.step()) problems += cat("\nforeign key: ", fk.text(0), " row ", fk.i64(1), " -> ", fk.text(2));
  // Search indexes (v3): internally consistent, and one document per row of their table (catches
  // a missing trigger, which plain integrity_check cannot see in an external-content index).
  if (impl_->version >= 3) {
    for (auto [fts, table] : {std::pair{"conversation_title_fts", "conversations"}, {"message_text_fts", "messages"}}) {
      try {
        db.exec(cat("INSERT INTO ", fts, " (", fts, ") VALUES ('integrity-check')"), "");
      } catch (const Error& e) {
        problems += cat("\nsearch index ", fts, ": ", e.what());
      }
      int64_t docs = db.query_int(cat("SELECT count(*) FROM ", fts, "_docsize"));
      int64_t rows = db.query_int(cat("SELECT count(*) FROM ", table));
      if (docs != rows) problems += cat("\nsearch index ", fts, " holds ", docs, " documents, ", table, " has ", rows);
    }
  }
  if (!problems.empty()) result = result == "ok" ? problems.substr(1) : result + problems;
  return result;
}

}  // namespace ds
