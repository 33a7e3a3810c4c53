// The DistilScope store: one SQLite file recording models, chat conversations, runs with their
// tokens, teacher-student divergence, attention/activation blobs and training runs. Store is one
// connection (used by one thread); StoreWriter writes on its own thread so that generation and
// training loops do no disk work. Records are in store_records.h; schema in docs/store.md.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "distilscope/store_records.h"

namespace ds {

// $XDG_DATA_HOME/distilscope/distilscope.db, else ~/.local/share/distilscope/distilscope.db.
// Creates the directory when create_dir is set.
std::string default_store_path(bool create_dir = true);

// SHA-256 of a whole file as 64 lowercase hex digits, read in 4 MiB chunks (OpenSSL, which uses
// the CPU's SHA instructions). Measured on the 2-core dev VM, 2 GB file: 1.0-1.45 GB/s from the
// page cache (OpenSSL alone: 1.7 GB/s), 0.65 GB/s cold from disk. `progress(done, total)` is called
// after each chunk. Store::register_model_file avoids re-hashing unchanged files.
std::string sha256_file(const std::string& path,
                        const std::function<void(uint64_t done, uint64_t total)>& progress = {});

struct StoreOptions {
  int busy_timeout_ms = 5000;      // how long a write waits for another connection's write lock
};

// One connection to the store file. Opening:
//  - creates the file if missing, refuses (ds::Error naming the path, file left untouched) a file
//    that is not SQLite, an SQLite file of another program, or a schema newer than this code;
//  - migrates an older schema step by step (each step one transaction);
//  - uses WAL with synchronous=NORMAL: a committed transaction survives a crash or kill -9 of the
//    process; only an OS crash or power loss can lose the last few commits (never corrupt the file);
//  - foreign_keys=ON (deleting a conversation or run deletes what belongs to it).
// SQLite connections belong to the thread that opened them: create a Store on the thread that
// uses it and use it only there (checked: other threads get a ds::Error). Open one per thread.
class Store {
 public:
  static constexpr int kSchemaVersion = 5;

  explicit Store(const std::string& path, const StoreOptions& options = {});
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;

  const std::string& path() const;
  int schema_version() const;
  // Runs `body` in one write transaction (nested calls become savepoints); rolls back on throw.
  void transaction(const std::function<void()>& body);
  // "ok", or one line per problem: PRAGMA integrity_check, foreign_key_check, and whether the
  // search indexes match their tables.
  std::string check_integrity();

  // Models. add_model returns the id of the (path, sha256) row, inserting it when new; on an
  // existing row it updates architecture/layout when non-empty and file_mtime_ns when set.
  int64_t add_model(const ModelRecord& model);
  std::optional<ModelRecord> find_model(const std::string& path, const std::string& sha256);
  std::optional<ModelRecord> get_model(int64_t id);
  std::vector<ModelRecord> list_models();
  // Stats the file; reuses the row with the same path, size and mtime without hashing, else
  // hashes it (sha256_file) and adds it.
  ModelRecord register_model_file(const std::string& path, const std::string& architecture,
                                  const std::string& layer_layout,
                                  const std::function<void(uint64_t, uint64_t)>& progress = {});

  // Conversations (chat sidebar) and their messages.
  int64_t create_conversation(const Conversation& c);
  std::optional<Conversation> get_conversation(int64_t id);
  std::vector<Conversation> list_conversations(int limit = -1, int offset = 0);  // newest updated first
  void update_conversation(const Conversation& c);      // title, mode, prompt, settings; bumps updated_at
  void rename_conversation(int64_t id, const std::string& title);
  void delete_conversation(int64_t id);                 // also its messages and their tokens
  // Full-text search (FTS5, word prefixes; all words must match) over titles and message text.
  std::vector<SearchHit> search_conversations(const std::string& query, int limit = 50);
  int64_t append_message(const Message& m);            // assigns the next position
  void delete_message(int64_t id);                      // e.g. a reply being regenerated; others keep their positions
  std::vector<Message> list_messages(int64_t conversation_id);
  // A pair-turn reply's per-token divergence (v5): one row per message, replaced when put again.
  // Tokens must lie inside the message text, in order (else ds::Error naming the message and offsets).
  void put_message_divergence(const MessageDivergence& d);
  std::optional<MessageDivergence> get_message_divergence(int64_t message_id);
  std::vector<MessageDivergence> list_message_divergence(int64_t conversation_id);  // by message position

  // Runs.
  int64_t create_run(const Run& run);
  void finish_run(int64_t id, RunStatus status, const std::string& error = "");
  std::optional<Run> get_run(int64_t id);
  std::vector<Run> list_runs(std::optional<RunKind> kind = std::nullopt, int limit = -1);  // newest first
  void delete_run(int64_t id);                          // and everything recorded for it

  // Tokens, divergence, blobs (per run, per token index).
  void append_token(const Token& t);
  void append_tokens(std::span<const Token> tokens);   // one transaction
  std::vector<Token> list_run_tokens(int64_t run_id);
  std::vector<Token> list_message_tokens(int64_t message_id);
  void append_divergence(const Divergence& d);
  std::vector<Divergence> list_divergence(int64_t run_id);
  void append_layer_divergence(const LayerDivergence& d);
  std::vector<LayerDivergence> list_layer_divergence(int64_t run_id);
  void put_blob(const Blob& blob);                      // replaces a blob with the same key
  std::optional<Blob> get_blob(const BlobKey& key);
  std::vector<BlobInfo> list_blobs(int64_t run_id);

  // Training.
  void append_train_step(const TrainStep& s);
  std::vector<TrainStep> list_train_steps(int64_t run_id, std::optional<int32_t> stage = std::nullopt);
  int64_t append_stage_eval(const StageEval& e);
  std::vector<StageEval> list_stage_evals(int64_t run_id);
  // The importance scores of one stage's candidate layers (one transaction; replaces the stage's earlier rows).
  void put_layer_importance(std::span<const LayerImportance> scores);
  std::vector<LayerImportance> list_layer_importance(int64_t run_id);  // by (stage, rank)
  // Resuming a training run from a checkpoint taken after `step` of `stage`: deletes the steps and evaluations
  // the interrupted process recorded after it (in that stage and later ones; importance of later stages) and
  // marks the run running again.
  void resume_training_run(int64_t run_id, int32_t stage, int32_t step);
  // Points a run at the model it produced or ran (e.g. a training run's exported model).
  void set_run_model(int64_t run_id, int64_t model_id);

  // Everything recorded for a run, read in one snapshot.
  RunReplay load_run(int64_t id);

  struct Impl;
  Impl& impl();  // for engine/store internals

 private:
  std::unique_ptr<Impl> impl_;
};

// ---- Writes from hot loops --------------------------------------------------------------------

struct RunFinish {
  int64_t run_id = 0;
  RunStatus status = RunStatus::Done;
  std::string error;
};
// Any other write, run on the writer thread with its Store (e.g. creating a row and handing the
// id back through a promise). `what` names it in error reports.
struct StoreJob {
  std::string what;
  std::function<void(Store&)> run;
};
using StoreWrite = std::variant<Token, Divergence, LayerDivergence, Blob, TrainStep, StageEval,
                                Message, RunFinish, StoreJob>;

// Owns its own connection on a background thread and applies queued writes in order. Writes are
// taken by value and never touch the disk on the caller's thread. The writer takes everything
// queued so far, writes it in one transaction (each submission in its own savepoint, so one bad
// record fails only its submission) and commits; then takes the next batch. Commits do not fsync
// (WAL, synchronous=NORMAL): they are writes into the OS page cache. WAL checkpoints, which do
// fsync, run on a third connection and thread so that commits do not wait for them (except once
// per 64 MiB of WAL if writes never pause; see writer.cpp).
//
// Durability against kill -9 (a committed transaction survives the process; see Store):
//  - max_uncommitted = 1 (default): submit() first waits until the previous submission is
//    committed, so a kill loses at most the last submission (the token being written). The wait
//    is normally nothing: at a decode pace of 1 token/ms the writer is idle when the next token
//    arrives (measured p99 of submit() 0.12-2.4 ms on a loaded 2-core VM; rare stalls of ~10 ms when
//    the disk is busy with a checkpoint). Writing flat out, submit() paces the caller at the
//    commit rate (about 8000 tokens/s with a 4 KiB blob each on that VM).
//  - max_uncommitted = 0: submit() never waits; a kill loses what the writer had not committed
//    yet, i.e. what was queued since its current transaction began. At decode pace that is
//    usually the token being written; flat out, the backlog (group commit keeps up to ~20000
//    tokens/s, but the backlog can grow while the writer is descheduled or in a checkpoint).
//  - N > 1: submit() waits while N submissions are uncommitted; a kill loses at most N.
// A submission is atomic: a kill never leaves a token without its divergence row or blob.
//
// Errors on the writer thread never throw into the caller or crash: each is passed to on_error
// (on the writer's threads) and kept for take_errors(). The failed submission is dropped.
struct StoreWriterOptions {
  size_t max_uncommitted = 1;  // 0: submit() never waits
  // Called on the writer's threads with each error; must not call flush() or a waiting submit().
  std::function<void(const std::string&)> on_error;
  StoreOptions store;
};

class StoreWriter {
 public:
  using Options = StoreWriterOptions;

  // Opens the store on the writer thread; throws ds::Error here if that fails.
  explicit StoreWriter(const std::string& path, Options options = {});
  ~StoreWriter();  // flushes, then stops the threads
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // From any thread. Writes of one thread are applied in submission order.
  void submit(StoreWrite write);
  void submit(std::vector<StoreWrite> writes);  // one submission: committed together or not at all
  void flush();                                  // returns when everything submitted so far is committed

  uint64_t submitted() const;   // submissions so far
  uint64_t committed() const;   // submissions finished (committed, or failed and reported)
  uint64_t error_count() const;
  std::vector<std::string> take_errors();  // errors since the last call, oldest first

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ds
