// Training records: one row per optimizer step (loss and its parts, learning rate, throughput)
// and one per stage evaluation (perplexity, KL and agreement with the teacher, decode speed), and the
// importance scores of the candidate layers of "auto" distillation stages.
#include "store/impl.h"
#include "util/error.h"

namespace ds {

void Store::append_train_step(const TrainStep& t) {
  impl_->use()
      .prepare(
          "INSERT INTO train_steps (run_id, stage, step, loss, losses_json, lr, tokens_per_s, grad_norm, created_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(t.run_id, t.stage, t.step, t.loss, t.losses_json, t.lr, t.tokens_per_s, t.grad_norm,
                t.created_at ? t.created_at : now_ms())
      .run();
}

std::vector<TrainStep> Store::list_train_steps(int64_t run_id, std::optional<int32_t> stage) {
  store::Stmt s = impl_->use().prepare(
      "SELECT run_id, stage, step, loss, losses_json, lr, tokens_per_s, grad_norm, created_at FROM train_steps "
      "WHERE run_id = ?1 AND (?2 IS NULL OR stage = ?2) ORDER BY stage, step");
  s.bind(0, run_id).bind(1, stage);
  std::vector<TrainStep> out;
  while (s.step()) {
    TrainStep t;
    t.run_id = s.i64(0);
    t.stage = s.i32(1);
    t.step = s.i32(2);
    t.loss = s.f64(3);
    t.losses_json = s.text(4);
    t.lr = s.f64(5);
    t.tokens_per_s = s.f64(6);
    t.grad_norm = s.opt_f64(7);
    t.created_at = s.i64(8);
    out.push_back(std::move(t));
  }
  return out;
}

int64_t Store::append_stage_eval(const StageEval& e) {
  store::Db& db = impl_->use();
  db.prepare(
        "INSERT INTO stage_evals (run_id, stage, step, perplexity, kl, top1_agreement, decode_tokens_per_s, "
        "checkpoint_path, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(e.run_id, e.stage, e.step, e.perplexity, e.kl, e.top1_agreement, e.decode_tokens_per_s,
                e.checkpoint_path, e.created_at ? e.created_at : now_ms())
      .run();
  return db.last_insert_id();
}

std::vector<StageEval> Store::list_stage_evals(int64_t run_id) {
  store::Stmt s = impl_->use().prepare(
      "SELECT id, run_id, stage, step, perplexity, kl, top1_agreement, decode_tokens_per_s, checkpoint_path, "
      "created_at FROM stage_evals WHERE run_id = ? ORDER BY stage, step, id");
  s.bind(0, run_id);
  std::vector<StageEval> out;
  while (s.step()) {
    StageEval e;
    e.id = s.i64(0);
    e.run_id = s.i64(1);
    e.stage = s.i32(2);
    e.step = s.i32(3);
    e.perplexity = s.f64(4);
    e.kl = s.f64(5);
    e.top1_agreement = s.f64(6);
    e.decode_tokens_per_s = s.f64(7);
    e.checkpoint_path = s.text(8);
    e.created_at = s.i64(9);
    out.push_back(std::move(e));
  }
  return out;
}

void Store::put_layer_importance(std::span<const LayerImportance> scores) {
  transaction([&] {
    store::Db& db = impl_->use();
    for (const LayerImportance& li : scores)
      db.prepare(
            "INSERT OR REPLACE INTO layer_importance (run_id, stage, layer, rank, score, method, converted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)")
          .bind_all(li.run_id, li.stage, li.layer, li.rank, li.score, li.method, int64_t(li.converted))
          .run();
  });
}

std::vector<LayerImportance> Store::list_layer_importance(int64_t run_id) {
  store::Stmt s = impl_->use().prepare(
      "SELECT run_id, stage, layer, rank, score, method, converted FROM layer_importance WHERE run_id = ? "
      "ORDER BY stage, rank");
  s.bind(0, run_id);
  std::vector<LayerImportance> out;
  while (s.step()) {
    LayerImportance li;
    li.run_id = s.i64(0);
    li.stage = s.i32(1);
    li.layer = s.i32(2);
    li.rank = s.i32(3);
    li.score = s.f64(4);
    li.method = s.text(5);
    li.converted = s.i64(6) != 0;
    out.push_back(std::move(li));
  }
  return out;
}

void Store::resume_training_run(int64_t run_id, int32_t stage, int32_t step) {
  transaction([&] {
    store::Db& db = impl_->use();
    db.prepare("UPDATE runs SET status = ?, finished_at = NULL, error = '' WHERE id = ?")
        .bind_all(to_string(RunStatus::Running), run_id)
        .run();
    DS_CHECK(db.changes() == 1, "[store] no run ", run_id, " to resume");
    db.prepare("DELETE FROM train_steps WHERE run_id = ?1 AND (stage > ?2 OR (stage = ?2 AND step > ?3))")
        .bind_all(run_id, stage, step)
        .run();
    db.prepare("DELETE FROM stage_evals WHERE run_id = ?1 AND (stage > ?2 OR (stage = ?2 AND step > ?3))")
        .bind_all(run_id, stage, step)
        .run();
    db.prepare("DELETE FROM layer_importance WHERE run_id = ?1 AND stage > ?2").bind_all(run_id, stage).run();
  });
}

void Store::set_run_model(int64_t run_id, int64_t model_id) {
  store::Db& db = impl_->use();
  db.prepare("UPDATE runs SET model_id = ? WHERE id = ?").bind_all(model_id, run_id).run();
  DS_CHECK(db.changes() == 1, "[store] no run ", run_id);
}

}  // namespace ds
