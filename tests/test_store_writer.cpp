// StoreWriter: queued writes land in order and flush() waits for them; errors on the writer thread
// are reported, not thrown; a submission is all or nothing; max_uncommitted bounds the lag; and
// kill -9 of a real child process in the middle of writing loses at most what the durability rule
// allows, leaving a database that passes PRAGMA integrity_check.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "distilscope/store.h"
#include "support/temp_dir.h"

extern char** environ;

namespace ds {
namespace {

// What one generated token records: the token, its divergence and an attention row.
std::vector<StoreWrite> token_writes(int64_t run, int i, int row_len = 64) {
  std::vector<float> row(static_cast<size_t>(row_len));
  for (int j = 0; j < row_len; ++j) row[j] = 1.0f / float(1 + ((i + j) % 17));
  std::vector<StoreWrite> w;
  w.push_back(Token{.run_id = run, .index = i, .token_id = 1000 + i, .piece = cat(" t", i), .time_ms = 0.5,
                    .prob = 0.5, .alternatives = {{1, 0.25f, " a"}, {2, 0.125f, " b"}}});
  w.push_back(Divergence{.run_id = run, .index = i, .kl = 0.01 * i, .top1_agree = i % 3 == 0});
  w.push_back(Blob::from_floats({run, i, 0, -1, "attention"}, {row_len}, row));
  return w;
}

struct Fixture {
  test::TempDir dir;
  std::string path = dir.file("writer.db");
  int64_t run = Store(path).create_run({.kind = RunKind::Compare, .prompt = "x"});
};

TEST(StoreWriter, WritesInOrderAndFlushes) {
  Fixture f;
  Store reader(f.path);
  {
    StoreWriter w(f.path);
    for (int i = 0; i < 500; ++i) w.submit(token_writes(f.run, i));
    w.submit(RunFinish{f.run, RunStatus::Done, ""});
    w.flush();
    EXPECT_EQ(w.committed(), w.submitted());
    EXPECT_EQ(reader.list_run_tokens(f.run).size(), 500u) << "flush() returned before the commit";
    EXPECT_EQ(reader.get_run(f.run)->status, RunStatus::Done);
    int64_t c = reader.create_conversation({.title = "chat"});
    for (int i = 0; i < 50; ++i) w.submit(Message{.conversation_id = c, .text = cat("m", i)});
    for (int i = 0; i < 50; ++i) w.submit(TrainStep{.run_id = f.run, .step = i, .loss = 1.0 / (i + 1)});
    w.submit(StageEval{.run_id = f.run, .perplexity = 9.5});
    w.submit(LayerDivergence{.run_id = f.run, .index = 0, .layer = 3, .residual_cosine = 0.5});
    // The destructor flushes what is still queued.
  }
  auto tokens = reader.list_run_tokens(f.run);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(tokens[i].index, i);
  EXPECT_EQ(tokens[499].alternatives.size(), 2u);
  EXPECT_EQ(reader.list_divergence(f.run).size(), 500u);
  EXPECT_EQ(reader.list_blobs(f.run).size(), 500u);
  auto blob = reader.get_blob({f.run, 123, 0, -1, "attention"});
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->floats()[5], 1.0f / float(1 + (128 % 17)));
  auto messages = reader.list_messages(reader.list_conversations()[0].id);
  ASSERT_EQ(messages.size(), 50u);
  EXPECT_EQ(messages[49].text, "m49");
  EXPECT_EQ(messages[49].position, 49);
  EXPECT_EQ(reader.list_train_steps(f.run).size(), 50u);
  EXPECT_EQ(reader.list_stage_evals(f.run).size(), 1u);
  EXPECT_EQ(reader.list_layer_divergence(f.run).size(), 1u);
}

TEST(StoreWriter, ErrorsAreReportedNotThrown) {
  Fixture f;
  std::vector<std::string> seen;  // on_error runs on the writer thread; read only after flush()
  StoreWriter::Options options;
  options.on_error = [&](const std::string& e) {
    seen.push_back(e);
    throw std::runtime_error("a throwing callback must not hurt");
  };
  StoreWriter w(f.path, options);
  w.submit(Token{.run_id = 999, .index = 0});                    // no such run
  w.submit(Token{.run_id = f.run, .index = 0, .piece = "ok"});
  w.submit(StoreJob{"custom job", [](Store&) { throw Error("job failed on purpose"); }});
  // One submission: the good token must not land without its divergence.
  std::vector<StoreWrite> pair;
  pair.push_back(Token{.run_id = f.run, .index = 1});
  pair.push_back(Divergence{.run_id = 999, .index = 1});
  w.submit(std::move(pair));
  w.submit(Token{.run_id = f.run, .index = 2, .piece = "also ok"});
  w.flush();

  EXPECT_EQ(w.error_count(), 3u);
  auto errors = w.take_errors();
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("token 0 of run 999"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("FOREIGN KEY"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("custom job"), std::string::npos) << errors[1];
  EXPECT_NE(errors[1].find("job failed on purpose"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("divergence of run 999"), std::string::npos) << errors[2];
  EXPECT_EQ(seen, errors);
  EXPECT_TRUE(w.take_errors().empty());

  Store reader(f.path);
  auto tokens = reader.list_run_tokens(f.run);
  ASSERT_EQ(tokens.size(), 2u) << "token 1 shared a submission with a bad row";
  EXPECT_EQ(tokens[0].piece, "ok");
  EXPECT_EQ(tokens[1].index, 2);
}

TEST(StoreWriter, MaxUncommittedBoundsTheLag) {
  Fixture f;
  EXPECT_EQ(StoreWriter::Options().max_uncommitted, 1u) << "the default keeps the kill -9 bound";
  for (size_t bound : {size_t(1), size_t(3)}) {
    StoreWriter::Options options;
    options.max_uncommitted = bound;
    StoreWriter w(f.path, options);
    for (int i = 0; i < 300; ++i) {
      w.submit(token_writes(f.run, int(bound) * 1000 + i));
      ASSERT_LE(w.submitted() - w.committed(), bound) << "after submission " << i;
    }
  }
}

TEST(StoreWriter, OpenFailureThrowsInTheConstructor) {
  test::TempDir dir;
  std::string path = dir.file("garbage.db");
  std::ofstream(path, std::ios::binary) << std::string(4096, '\x5a');
  try {
    StoreWriter w(path);
    FAIL() << "opened a garbage file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

// Informational numbers (printed), and a check that nothing is lost: flat out, then at a decode
// pace of one token per millisecond, for both settings of max_uncommitted.
TEST(StoreWriter, ThroughputAndSubmitLatency) {
  Fixture f;
  for (int pace_us : {0, 1000})
    for (size_t max_uncommitted : {size_t(0), size_t(1)}) {
      Store(f.path).delete_run(f.run);
      f.run = Store(f.path).create_run({.kind = RunKind::Compare});
      StoreWriter::Options options;
      options.max_uncommitted = max_uncommitted;
      StoreWriter w(f.path, options);
      const int n = pace_us ? 1000 : 4000;
      std::vector<double> submit_ms;
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) {
        auto writes = token_writes(f.run, i, 1024);  // 4 KiB attention row per token
        auto s0 = std::chrono::steady_clock::now();
        w.submit(std::move(writes));
        submit_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s0).count());
        if (pace_us) usleep(useconds_t(pace_us));
      }
      w.flush();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::sort(submit_ms.begin(), submit_ms.end());
      std::printf("max_uncommitted=%zu, %s: %d tokens (token + divergence + 4 KiB blob) in %.3f s = %.0f/s; submit "
                  "median %.3f ms, p99 %.3f ms, max %.2f ms; WAL file %.1f MiB\n",
                  max_uncommitted, pace_us ? "1 token/ms" : "flat out", n, s, n / s, submit_ms[n / 2],
                  submit_ms[n * 99 / 100], submit_ms.back(),
                  std::filesystem::file_size(f.path + "-wal") / 1048576.0);
      EXPECT_EQ(w.error_count(), 0u);
      EXPECT_EQ(Store(f.path).list_run_tokens(f.run).size(), size_t(n));
    }
}

// ---- kill -9 --------------------------------------------------------------------------------------

// Not a test on its own: the body of the child process that KillNine runs (same binary, re-executed).
// Writes tokens through a StoreWriter in a loop and prints "index committed" after each submit().
TEST(StoreKill, DISABLED_Child) {
  const char* path = getenv("DS_STORE_KILL_DB");
  if (!path) GTEST_SKIP() << "only run as KillNine's child";
  int fd = std::atoi(getenv("DS_STORE_KILL_FD"));
  int64_t run = std::atoll(getenv("DS_STORE_KILL_RUN"));
  StoreWriter::Options options;
  options.max_uncommitted = std::atoi(getenv("DS_STORE_KILL_MAX_UNCOMMITTED"));
  int pace_us = std::atoi(getenv("DS_STORE_KILL_PACE_US"));  // time between tokens, like a decode step
  StoreWriter w(path, options);
  for (int i = 0; i < 10'000'000; ++i) {
    w.submit(token_writes(run, i));
    dprintf(fd, "%d %llu\n", i, (unsigned long long)w.committed());
    if (pace_us) usleep(useconds_t(pace_us));
  }
}

struct KillResult {
  int last_printed = -1;        // last token index the child printed (it was queued)
  uint64_t committed_then = 0;  // submissions the writer had finished when it printed that
};

// Starts the child, lets it queue at least `kill_after` tokens, SIGKILLs it, returns what it printed.
KillResult run_and_kill(const std::string& db, int64_t run, size_t max_uncommitted, int pace_us, int kill_after) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  int child_fd = dup(fds[1]);  // without O_CLOEXEC: the child inherits it
  std::vector<std::string> env_strings = {cat("DS_STORE_KILL_DB=", db), cat("DS_STORE_KILL_FD=", child_fd),
                                          cat("DS_STORE_KILL_RUN=", run),
                                          cat("DS_STORE_KILL_MAX_UNCOMMITTED=", max_uncommitted),
                                          cat("DS_STORE_KILL_PACE_US=", pace_us)};
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(nullptr);
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=StoreKill.DISABLED_Child";
  char also[] = "--gtest_also_run_disabled_tests";
  char* argv[] = {exe.data(), filter.data(), also, nullptr};

  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);  // gtest's own output
    execve(exe.c_str(), argv, envp.data());
    _exit(127);
  }
  close(child_fd);
  close(fds[1]);

  KillResult result;
  std::string pending;
  bool killed = false;
  char buf[4096];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 60000) <= 0) {
      ADD_FAILURE() << "child wrote nothing for 60 s";
      kill(pid, SIGKILL);
      break;
    }
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;  // EOF: the child is gone
    pending.append(buf, size_t(n));
    size_t eol;
    while ((eol = pending.find('\n')) != std::string::npos) {
      std::istringstream line(pending.substr(0, eol));
      pending.erase(0, eol + 1);
      line >> result.last_printed >> result.committed_then;
    }
    if (!killed && result.last_printed >= kill_after) {
      kill(pid, SIGKILL);  // the child keeps writing until the signal lands; we read the rest after
      killed = true;
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  EXPECT_TRUE(killed) << "child exited on its own, status " << status;
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  return result;
}

void check_after_kill(size_t max_uncommitted, int pace_us, int max_tokens, int repeats) {
  std::random_device seed_source;
  unsigned seed = seed_source();
  std::mt19937 rng(seed);
  for (int r = 0; r < repeats; ++r) {
    test::TempDir dir;
    std::string db = dir.file("killed.db");
    int64_t run = Store(db).create_run({.kind = RunKind::Compare, .prompt = "kill me"});
    int kill_after = std::uniform_int_distribution<int>(1, max_tokens)(rng);
    KillResult k = run_and_kill(db, run, max_uncommitted, pace_us, kill_after);
    SCOPED_TRACE(cat("seed ", seed, " repeat ", r, ": killed after token ", kill_after, ", last printed ",
                     k.last_printed, ", committed then ", k.committed_then));

    Store store(db);  // recovers the WAL
    EXPECT_EQ(store.check_integrity(), "ok");
    auto tokens = store.list_run_tokens(run);
    for (size_t i = 0; i < tokens.size(); ++i) ASSERT_EQ(tokens[i].index, int(i)) << "a hole in the tokens";
    int n = int(tokens.size());
    std::printf("max_uncommitted=%zu, %d us/token: printed up to %d (writer had committed %llu), found %d tokens\n",
                max_uncommitted, pace_us, k.last_printed, (unsigned long long)k.committed_then, n);
    if (max_uncommitted > 0) {
      EXPECT_GE(n, k.last_printed + 1 - int(max_uncommitted)) << "more than max_uncommitted tokens were lost";
    }
    EXPECT_GE(uint64_t(n), k.committed_then) << "a commit the writer had finished was lost";
    EXPECT_LE(n, k.last_printed + 3) << "tokens that were never queued";
    // Each submission is atomic: every stored token has its divergence row and its blob.
    EXPECT_EQ(store.list_divergence(run).size(), size_t(n));
    EXPECT_EQ(store.list_blobs(run).size(), size_t(n));
    if (n > 0) {
      EXPECT_EQ(store.get_blob({run, n - 1, 0, -1, "attention"})->floats().size(), 64u);
    }
    store.append_token({.run_id = run, .index = n, .piece = "after"});  // the file still takes writes
  }
}

// The default (max_uncommitted = 1), writing as fast as it can: at most the last queued token is lost.
TEST(StoreKill, KillNineLosesAtMostTheLastQueuedToken) { check_after_kill(1, 0, 4000, 5); }

// max_uncommitted = 0 (submit never waits), flat out: the writer falls behind, and only what it had
// not yet committed may be lost. Then at a fast decode pace (1 token/ms), where it keeps up.
TEST(StoreKill, KillNineKeepsEveryFinishedGroupCommit) {
  check_after_kill(0, 0, 4000, 3);
  check_after_kill(0, 1000, 400, 3);
}

}  // namespace
}  // namespace ds
