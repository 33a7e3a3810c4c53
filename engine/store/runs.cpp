// Runs (generate, trace, compare, pretrain, distill, eval) and their tokens, plus load_run, which
// reads everything recorded for one run in a single snapshot for replay without the model.
#include "store/codec.h"
#include "store/impl.h"
#include "util/error.h"

namespace ds {
namespace {

constexpr const char* kRunColumns =
    "id, kind, status, created_at, finished_at, prompt, config_json, model_id, teacher_model_id, "
    "conversation_id, error";

Run read_run(const store::Stmt& s) {
  Run r;
  r.id = s.i64(0);
  r.kind = parse_run_kind(s.text(1));
  r.status = parse_run_status(s.text(2));
  r.created_at = s.i64(3);
  r.finished_at = s.i64(4);
  r.prompt = s.text(5);
  r.config_json = s.text(6);
  r.model_id = s.i64(7);
  r.teacher_model_id = s.i64(8);
  r.conversation_id = s.i64(9);
  r.error = s.text(10);
  return r;
}

std::vector<Token> read_tokens(store::Stmt& s) {
  std::vector<Token> out;
  while (s.step()) {
    Token t;
    t.run_id = s.i64(0);
    t.message_id = s.i64(1);
    t.index = s.i32(2);
    t.token_id = s.i32(3);
    t.piece = s.text(4);
    t.time_ms = s.f64(5);
    t.prob = s.opt_f64(6);
    t.is_prompt = s.i64(7) != 0;
    t.alternatives = store::decode_alternatives(s.blob(8));
    out.push_back(std::move(t));
  }
  return out;
}

constexpr const char* kTokenSelect =
    "SELECT run_id, message_id, idx, token_id, piece, time_ms, prob, is_prompt, top_alts FROM tokens ";

}  // namespace

int64_t Store::create_run(const Run& r) {
  store::Db& db = impl_->use();
  db.prepare(
        "INSERT INTO runs (kind, status, created_at, finished_at, prompt, config_json, model_id, "
        "teacher_model_id, conversation_id, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(0, to_string(r.kind))
      .bind(1, to_string(r.status))
      .bind(2, r.created_at ? r.created_at : now_ms())
      .bind_id(3, r.finished_at)
      .bind(4, r.prompt)
      .bind(5, r.config_json)
      .bind_id(6, r.model_id)
      .bind_id(7, r.teacher_model_id)
      .bind_id(8, r.conversation_id)
      .bind(9, r.error)
      .run();
  return db.last_insert_id();
}

void Store::finish_run(int64_t id, RunStatus status, const std::string& error) {
  store::Db& db = impl_->use();
  db.prepare("UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ?")
      .bind_all(to_string(status), now_ms(), error, id)
      .run();
  DS_CHECK(db.changes() == 1, "[store] no run ", id, " to finish");
}

std::optional<Run> Store::get_run(int64_t id) {
  store::Stmt s = impl_->use().prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?");
  s.bind(0, id);
  if (!s.step()) return std::nullopt;
  return read_run(s);
}

std::vector<Run> Store::list_runs(std::optional<RunKind> kind, int limit) {
  // Two statements so that the kind filter can use the runs_by_kind index.
  std::string order = " ORDER BY created_at DESC, id DESC LIMIT ?";
  store::Stmt s = impl_->use().prepare(std::string("SELECT ") + kRunColumns + " FROM runs" +
                                       (kind ? " WHERE kind = ?" : "") + order);
  if (kind)
    s.bind_all(to_string(*kind), limit);
  else
    s.bind(0, limit);
  std::vector<Run> out;
  while (s.step()) out.push_back(read_run(s));
  return out;
}

void Store::delete_run(int64_t id) { impl_->use().prepare("DELETE FROM runs WHERE id = ?").bind(0, id).run(); }

void Store::append_token(const Token& t) {
  DS_CHECK((t.run_id != 0) != (t.message_id != 0), "[store] token ", t.index,
           ": needs exactly one of run_id and message_id (got ", t.run_id, ", ", t.message_id, ")");
  std::vector<uint8_t> alts = store::encode_alternatives(t.alternatives);
  store::Stmt s = impl_->use().prepare(
      "INSERT INTO tokens (run_id, message_id, idx, token_id, piece, time_ms, prob, is_prompt, top_alts) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind_id(0, t.run_id).bind_id(1, t.message_id).bind(2, t.index).bind(3, t.token_id).bind(4, t.piece);
  s.bind(5, t.time_ms).bind(6, t.prob).bind(7, t.is_prompt);
  if (alts.empty())
    s.bind(8, std::nullopt);
  else
    s.bind(8, std::span<const uint8_t>(alts));
  s.run();
}

void Store::append_tokens(std::span<const Token> tokens) {
  transaction([&] {
    for (const Token& t : tokens) append_token(t);
  });
}

std::vector<Token> Store::list_run_tokens(int64_t run_id) {
  store::Stmt s = impl_->use().prepare(std::string(kTokenSelect) + "WHERE run_id = ? ORDER BY idx");
  s.bind(0, run_id);
  return read_tokens(s);
}

std::vector<Token> Store::list_message_tokens(int64_t message_id) {
  store::Stmt s = impl_->use().prepare(std::string(kTokenSelect) + "WHERE message_id = ? ORDER BY idx");
  s.bind(0, message_id);
  return read_tokens(s);
}

RunReplay Store::load_run(int64_t id) {
  store::ReadSnapshot snapshot(impl_->use());
  RunReplay r;
  std::optional<Run> run = get_run(id);
  DS_CHECK(run, "[store] ", path(), ": no run ", id);
  r.run = std::move(*run);
  if (r.run.model_id) r.model = get_model(r.run.model_id);
  if (r.run.teacher_model_id) r.teacher = get_model(r.run.teacher_model_id);
  r.tokens = list_run_tokens(id);
  r.divergence = list_divergence(id);
  r.layers = list_layer_divergence(id);
  r.blobs = list_blobs(id);
  r.train_steps = list_train_steps(id);
  r.stage_evals = list_stage_evals(id);
  r.importance = list_layer_importance(id);
  return r;
}

}  // namespace ds
