// Schema history of the store. Each step's SQL is frozen once released: a new need is a new step
// appended at the end (never an edit of an old one), so every old file migrates the same way.
// Times are INTEGER milliseconds since the Unix epoch; ids are INTEGER PRIMARY KEYs (rowids).
#include "store/schema.h"

#include "store/sqlite.h"
#include "util/error.h"

namespace ds::store {
namespace {

// v1: the whole schema as first designed. Search used LIKE over titles and message text.
constexpr std::string_view kSchemaV1 = R"sql(
PRAGMA application_id = 1146319732;

CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  architecture TEXT NOT NULL DEFAULT '',
  layer_layout TEXT NOT NULL DEFAULT '',
  added_at INTEGER NOT NULL,
  UNIQUE (path, sha256)
) STRICT;

CREATE TABLE conversations (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  mode TEXT NOT NULL DEFAULT 'chat',
  system_prompt TEXT NOT NULL DEFAULT '',
  settings_json TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX conversations_by_updated ON conversations (updated_at DESC);

CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'running',
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  prompt TEXT NOT NULL DEFAULT '',
  config_json TEXT NOT NULL DEFAULT '{}',
  model_id INTEGER REFERENCES models (id) ON DELETE SET NULL,
  teacher_model_id INTEGER REFERENCES models (id) ON DELETE SET NULL,
  conversation_id INTEGER REFERENCES conversations (id) ON DELETE CASCADE,
  error TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX runs_by_created ON runs (created_at DESC);
CREATE INDEX runs_by_conversation ON runs (conversation_id) WHERE conversation_id IS NOT NULL;

CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  text TEXT NOT NULL,
  model_id INTEGER REFERENCES models (id) ON DELETE SET NULL,
  run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (conversation_id, position)
) STRICT;
CREATE INDEX messages_by_run ON messages (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE tokens (
  id INTEGER PRIMARY KEY,
  run_id INTEGER REFERENCES runs (id) ON DELETE CASCADE,
  message_id INTEGER REFERENCES messages (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  token_id INTEGER NOT NULL,
  piece TEXT NOT NULL,
  time_ms REAL NOT NULL,
  prob REAL,
  is_prompt INTEGER NOT NULL DEFAULT 0,
  top_alts BLOB,
  CHECK ((run_id IS NULL) <> (message_id IS NULL))
) STRICT;
CREATE UNIQUE INDEX tokens_by_run ON tokens (run_id, idx) WHERE run_id IS NOT NULL;
CREATE UNIQUE INDEX tokens_by_message ON tokens (message_id, idx) WHERE message_id IS NOT NULL;

CREATE TABLE divergence (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  kl REAL NOT NULL,
  reverse_kl REAL NOT NULL,
  top1_agree INTEGER NOT NULL,
  topk_overlap REAL NOT NULL,
  teacher_entropy REAL NOT NULL,
  student_entropy REAL NOT NULL,
  PRIMARY KEY (run_id, idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE layer_divergence (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  residual_cosine REAL NOT NULL,
  attention_js REAL,
  PRIMARY KEY (run_id, idx, layer)
) STRICT, WITHOUT ROWID;

CREATE TABLE blobs (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  head INTEGER NOT NULL,
  kind TEXT NOT NULL,
  dtype TEXT NOT NULL,
  shape TEXT NOT NULL,
  codec TEXT NOT NULL,
  raw_bytes INTEGER NOT NULL,
  data BLOB NOT NULL,
  UNIQUE (run_id, idx, layer, head, kind)
) STRICT;

CREATE TABLE train_steps (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  stage INTEGER NOT NULL,
  step INTEGER NOT NULL,
  loss REAL NOT NULL,
  losses_json TEXT NOT NULL DEFAULT '{}',
  lr REAL NOT NULL,
  tokens_per_s REAL NOT NULL,
  grad_norm REAL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, stage, step)
) STRICT, WITHOUT ROWID;

CREATE TABLE stage_evals (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  stage INTEGER NOT NULL,
  step INTEGER NOT NULL,
  perplexity REAL NOT NULL,
  kl REAL NOT NULL,
  top1_agreement REAL NOT NULL,
  decode_tokens_per_s REAL NOT NULL,
  checkpoint_path TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX stage_evals_by_run ON stage_evals (run_id, stage, step);
)sql";

// v2: remember the file's mtime with its hash, so re-opening an unchanged model skips hashing;
// list runs of one kind without scanning all runs.
constexpr std::string_view kV1ToV2 = R"sql(
ALTER TABLE models ADD COLUMN file_mtime_ns INTEGER;
CREATE INDEX runs_by_kind ON runs (kind, created_at DESC);
)sql";

// v3: full-text search (FTS5, external content: the index stores no second copy of the text) over
// conversation titles and message text, kept current by triggers, built from existing rows.
constexpr std::string_view kV2ToV3 = R"sql(
CREATE VIRTUAL TABLE conversation_title_fts USING fts5 (
  title, content = 'conversations', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE message_text_fts USING fts5 (
  text, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER conversation_title_fts_insert AFTER INSERT ON conversations BEGIN
  INSERT INTO conversation_title_fts (rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER conversation_title_fts_delete AFTER DELETE ON conversations BEGIN
  INSERT INTO conversation_title_fts (conversation_title_fts, rowid, title) VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER conversation_title_fts_update AFTER UPDATE OF title ON conversations BEGIN
  INSERT INTO conversation_title_fts (conversation_title_fts, rowid, title) VALUES ('delete', old.id, old.title);
  INSERT INTO conversation_title_fts (rowid, title) VALUES (new.id, new.title);
END;

CREATE TRIGGER message_text_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO message_text_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER message_text_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO message_text_fts (message_text_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER message_text_fts_update AFTER UPDATE OF text ON messages BEGIN
  INSERT INTO message_text_fts (message_text_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO message_text_fts (rowid, text) VALUES (new.id, new.text);
END;

INSERT INTO conversation_title_fts (conversation_title_fts) VALUES ('rebuild');
INSERT INTO message_text_fts (message_text_fts) VALUES ('rebuild');
)sql";

// v4: the importance scores of a distillation's "auto" stages: per candidate layer its validation KL to the
// teacher with that layer alone converted (leave-one-out or probe), its rank (0: least important) and whether the
// stage converted it.
constexpr std::string_view kV3ToV4 = R"sql(
CREATE TABLE layer_importance (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  stage INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  rank INTEGER NOT NULL,
  score REAL NOT NULL,
  method TEXT NOT NULL,
  converted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, stage, layer)
) STRICT, WITHOUT ROWID;
)sql";

// v5: the per-token divergence of a chat reply written in a pair turn (teacher answers, student
// teacher-forced), one row per message: which models, and the tokens packed and compressed (format in
// docs/store.md). Deleting the message (or its conversation) deletes the row.
constexpr std::string_view kV4ToV5 = R"sql(
CREATE TABLE message_divergence (
  message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  teacher_path TEXT NOT NULL DEFAULT '',
  student_path TEXT NOT NULL,
  n_tokens INTEGER NOT NULL,
  codec TEXT NOT NULL,
  raw_bytes INTEGER NOT NULL,
  data BLOB NOT NULL
) STRICT;
)sql";

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> steps = {
      {1, "create the schema", kSchemaV1},
      {2, "models.file_mtime_ns, runs_by_kind index", kV1ToV2},
      {3, "FTS5 search over conversation titles and messages", kV2ToV3},
      {4, "layer_importance of distillation stages", kV3ToV4},
      {5, "message_divergence of pair-turn chat replies", kV4ToV5},
  };
  return steps;
}

void migrate(Db& db, int target_version) {
  for (const Migration& m : migrations()) {
    if (m.to_version > target_version) break;
    if (db.query_int("PRAGMA user_version") >= m.to_version) continue;  // cheap check outside the lock
    Transaction tx(db);
    int now = int(db.query_int("PRAGMA user_version"));
    if (now >= m.to_version) continue;  // another connection migrated while we waited
    DS_CHECK(now == m.to_version - 1, "[store] ", db.path(), ": schema version ", now,
             " has no migration step to ", m.to_version);
    try {
      db.exec(m.sql, "");
      db.exec(cat("PRAGMA user_version = ", m.to_version), "");
      tx.commit();
    } catch (const Error& e) {
      fail("[store] ", db.path(), ": migration v", m.to_version - 1, " -> v", m.to_version, " (", m.what,
           ") failed, file left at v", now, ": ", e.what());
    }
  }
}

}  // namespace ds::store
