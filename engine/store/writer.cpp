// StoreWriter: a background thread with its own connection that drains a queue of writes, one
// transaction per drained batch (one savepoint per submission), plus a checkpoint thread that
// copies the WAL back into the database so the writer's commits never wait on an fsync.
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "store/impl.h"
#include "util/error.h"

namespace ds {
namespace {

// WAL size (pages) above which the checkpoint thread is woken: SQLite's own default.
constexpr int kCheckpointPages = 1000;
// If writes never pause, the checkpoint thread never catches up with the end of the WAL, and the
// WAL can only restart from its beginning after a checkpoint that did. Past this size (64 MiB of
// 4 KiB pages) the writer checkpoints itself once, which bounds the WAL at the cost of one stall.
constexpr int kWriterCheckpointPages = 16000;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string describe(const StoreWrite& w) {
  return std::visit(
      Overloaded{
          [](const Token& t) { return cat("token ", t.index, " of ", t.run_id ? "run " : "message ",
                                          t.run_id ? t.run_id : t.message_id); },
          [](const Divergence& d) { return cat("divergence of run ", d.run_id, " token ", d.index); },
          [](const LayerDivergence& d) {
            return cat("layer divergence of run ", d.run_id, " token ", d.index, " layer ", d.layer);
          },
          [](const Blob& b) { return cat("blob ", b.key.kind, " of run ", b.key.run_id, " token ", b.key.index); },
          [](const TrainStep& s) { return cat("train step ", s.step, " (stage ", s.stage, ") of run ", s.run_id); },
          [](const StageEval& e) { return cat("stage ", e.stage, " eval of run ", e.run_id); },
          [](const Message& m) { return cat("message in conversation ", m.conversation_id); },
          [](const RunFinish& f) { return cat("finishing run ", f.run_id); },
          [](const StoreJob& j) { return j.what.empty() ? std::string("job") : j.what; },
      },
      w);
}

void apply(Store& store, StoreWrite& w) {
  std::visit(Overloaded{
                 [&](const Token& t) { store.append_token(t); },
                 [&](const Divergence& d) { store.append_divergence(d); },
                 [&](const LayerDivergence& d) { store.append_layer_divergence(d); },
                 [&](const Blob& b) { store.put_blob(b); },
                 [&](const TrainStep& s) { store.append_train_step(s); },
                 [&](const StageEval& e) { store.append_stage_eval(e); },
                 [&](const Message& m) { store.append_message(m); },
                 [&](const RunFinish& f) { store.finish_run(f.run_id, f.status, f.error); },
                 [&](StoreJob& j) { j.run(store); },
             },
             w);
}

}  // namespace

struct StoreWriter::State {
  std::string path;
  Options options;

  std::mutex mu;                        // guards everything down to the threads
  std::condition_variable work_ready;   // writer thread waits for submissions
  std::condition_variable progress;     // flush()/submit() wait for finished submissions
  std::deque<std::vector<StoreWrite>> queue;
  uint64_t submitted = 0, finished = 0, errors_total = 0;
  bool stopping = false;
  std::vector<std::string> errors;

  std::mutex ck_mu;
  std::condition_variable ck_wake;
  bool ck_wanted = false, ck_stop = false;

  std::thread writer, checkpointer;

  void report(const std::string& message) {
    {
      std::lock_guard lock(mu);
      errors.push_back(message);
      ++errors_total;
    }
    if (options.on_error) try {
        options.on_error(message);
      } catch (...) {  // a throwing callback must not take the writer down
      }
  }

  // Writes one drained batch in one transaction; each submission in its own savepoint.
  void write_batch(Store& store, std::deque<std::vector<StoreWrite>>& batch) {
    store::Db& db = store.impl().use();
    try {
      store::Transaction tx(db);
      for (auto& submission : batch) {
        db.exec("SAVEPOINT ds_submission", "starting a submission");
        for (StoreWrite& w : submission) {
          try {
            apply(store, w);
          } catch (const std::exception& e) {
            report(cat("[store writer] ", path, ": ", describe(w), " (submission of ", submission.size(),
                       " writes dropped): ", e.what()));
            if (!db.in_transaction()) throw Error("SQLite rolled the whole transaction back");
            db.exec("ROLLBACK TO ds_submission", "rolling back a submission");
            break;
          }
        }
        db.exec("RELEASE ds_submission", "ending a submission");
      }
      tx.commit();
    } catch (const std::exception& e) {
      report(cat("[store writer] ", path, ": ", batch.size(), " queued submission(s) lost: ", e.what()));
    }
  }

  void writer_main(std::promise<void>& opened) {
    std::optional<Store> store;
    try {
      store.emplace(path, options.store);
      sqlite3_wal_hook(store->impl().db.raw(), &State::on_wal_commit, this);  // replaces auto-checkpoint
    } catch (...) {
      opened.set_exception(std::current_exception());
      return;
    }
    opened.set_value();
    for (;;) {
      std::deque<std::vector<StoreWrite>> batch;
      {
        std::unique_lock lock(mu);
        work_ready.wait(lock, [&] { return !queue.empty() || stopping; });
        if (queue.empty()) break;
        batch.swap(queue);
      }
      write_batch(*store, batch);
      {
        std::lock_guard lock(mu);
        finished += batch.size();
      }
      progress.notify_all();
    }
  }

  static int on_wal_commit(void* self, sqlite3* db, const char*, int pages) {
    if (pages >= kWriterCheckpointPages) {
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);  // BUSY is fine
    } else if (pages >= kCheckpointPages) {
      auto* s = static_cast<State*>(self);
      {
        std::lock_guard lock(s->ck_mu);
        s->ck_wanted = true;
      }
      s->ck_wake.notify_one();
    }
    return SQLITE_OK;
  }

  // PASSIVE checkpoints never block the writer; they fsync the WAL and the database here instead.
  void checkpointer_main() {
    std::optional<Store> store;
    try {
      store.emplace(path, options.store);
    } catch (const std::exception& e) {
      report(cat("[store writer] checkpoint thread: ", e.what()));
    }
    for (;;) {
      {
        std::unique_lock lock(ck_mu);
        ck_wake.wait(lock, [&] { return ck_wanted || ck_stop; });
        if (ck_stop) break;
        ck_wanted = false;
      }
      if (!store) continue;
      int rc = sqlite3_wal_checkpoint_v2(store->impl().db.raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        report(cat("[store writer] ", path, ": WAL checkpoint failed: ", sqlite3_errstr(rc)));
    }
  }
};

StoreWriter::StoreWriter(const std::string& path, Options options) : state_(std::make_unique<State>()) {
  state_->path = path;
  state_->options = std::move(options);
  std::promise<void> opened;
  std::future<void> result = opened.get_future();
  state_->writer = std::thread([this, &opened] { state_->writer_main(opened); });
  try {
    result.get();
  } catch (...) {
    state_->writer.join();
    throw;
  }
  state_->checkpointer = std::thread([this] { state_->checkpointer_main(); });
}

StoreWriter::~StoreWriter() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->work_ready.notify_all();
  state_->writer.join();  // drains the queue first
  {
    std::lock_guard lock(state_->ck_mu);
    state_->ck_stop = true;
  }
  state_->ck_wake.notify_all();
  state_->checkpointer.join();
}

void StoreWriter::submit(StoreWrite write) {
  std::vector<StoreWrite> one;
  one.push_back(std::move(write));
  submit(std::move(one));
}

void StoreWriter::submit(std::vector<StoreWrite> writes) {
  State& s = *state_;
  {
    std::unique_lock lock(s.mu);
    if (s.options.max_uncommitted > 0)
      s.progress.wait(lock, [&] { return s.submitted - s.finished < s.options.max_uncommitted; });
    s.queue.push_back(std::move(writes));
    ++s.submitted;
  }
  s.work_ready.notify_one();
}

void StoreWriter::flush() {
  State& s = *state_;
  std::unique_lock lock(s.mu);
  uint64_t target = s.submitted;
  s.progress.wait(lock, [&] { return s.finished >= target; });
}

uint64_t StoreWriter::submitted() const {
  std::lock_guard lock(state_->mu);
  return state_->submitted;
}

uint64_t StoreWriter::committed() const {
  std::lock_guard lock(state_->mu);
  return state_->finished;
}

uint64_t StoreWriter::error_count() const {
  std::lock_guard lock(state_->mu);
  return state_->errors_total;
}

std::vector<std::string> StoreWriter::take_errors() {
  std::lock_guard lock(state_->mu);
  return std::exchange(state_->errors, {});
}

}  // namespace ds
