// `replay ID`: prints a stored run from the store alone (no model file needed): a trace's text, summary
// and exports (the same JSON / CSV / heatmaps as `trace`), a comparison's per-token table and summary, a
// training run's stage evaluations and (distillation) the importance scores of its "auto" stages.
#include <cstdio>
#include <map>

#include "common.h"
#include "compare_print.h"
#include "distilscope/probe_store.h"
#include "distilscope/store.h"
#include "distilscope/trace.h"
#include "heatmap.h"
#include "trace_export.h"
#include "utf8.h"
#include "util/error.h"
#include "util/json.h"

namespace ds::cli {
namespace {

// Pretrain / distill runs: steps recorded, evaluations per stage, importance scores per "auto" stage.
void print_training(const RunReplay& rep, bool json) {
  if (json) {
    JsonWriter j;
    j.begin_object().field("id", rep.run.id).field("kind", to_string(rep.run.kind));
    j.field("steps", int64_t(rep.train_steps.size()));
    j.key("evaluations").begin_array();
    for (const StageEval& e : rep.stage_evals)
      j.begin_object().field("stage", e.stage).field("step", e.step).field("perplexity", e.perplexity)
          .field("kl", e.kl).field("top1_agreement", e.top1_agreement)
          .field("decode_tokens_per_s", e.decode_tokens_per_s).end_object();
    j.end_array().key("importance").begin_array();
    for (const LayerImportance& li : rep.importance)
      j.begin_object().field("stage", li.stage).field("layer", li.layer).field("rank", li.rank)
          .field("score", li.score).field("method", li.method).field("converted", li.converted).end_object();
    std::printf("%s\n", j.end_array().end_object().str().c_str());
    return;
  }
  std::printf("%zu training steps recorded\n", rep.train_steps.size());
  if (!rep.stage_evals.empty()) std::printf("stage   step  perplexity  KL to teacher  top-1   decode tok/s\n");
  for (const StageEval& e : rep.stage_evals)
    std::printf("%5d %6d  %10.3f  %13.4f  %5.3f  %12.1f\n", e.stage, e.step, e.perplexity, e.kl, e.top1_agreement,
                e.decode_tokens_per_s);
  int stage = -1;
  for (const LayerImportance& li : rep.importance) {
    if (li.stage != stage)
      std::printf("stage %d importance (%s; validation KL with the layer alone converted, least important first):\n",
                  stage = li.stage, li.method.c_str());
    std::printf("  layer %3d  KL %.4g%s\n", li.layer, li.score, li.converted ? "  converted" : "");
  }
}

}  // namespace

void add_replay(CLI::App& app) {
  auto* cmd = app.add_subcommand("replay", "Print a stored run (see `sessions`) without loading any model");
  struct Opts {
    int64_t id = 0;
    std::string png, csv;
    bool json = false;
    StoreFlag store;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("id", o->id, "Run id")->required();
  cmd->add_flag("--json", o->json, "Print the run's data as JSON (the format of trace --json / compare --json)");
  cmd->add_option("--png", o->png, "Trace runs: write the heatmaps into this directory");
  cmd->add_option("--csv", o->csv, "Trace runs: write attention rows (and activations) as CSV");
  o->store.add(cmd);
  cmd->callback([o] {
    Store store(o->store.path());
    DS_CHECK(store.get_run(o->id), "run ", o->id, " is not in ", store.path(), " (see `distilscope-cli sessions`)");
    const RunReplay rep = store.load_run(o->id);
    const Run& run = rep.run;
    if (!o->json) {
      std::printf("run %lld: %s, %s\n", static_cast<long long>(run.id), to_string(run.kind), to_string(run.status));
      if (rep.teacher)
        std::printf("teacher %s (sha256 %.12s)\n", rep.teacher->path.c_str(), rep.teacher->sha256.c_str());
      if (rep.model)
        std::printf("%s %s (sha256 %.12s, layout %s)\n", rep.teacher ? "student" : "model  ", rep.model->path.c_str(),
                    rep.model->sha256.c_str(), rep.model->layer_layout.c_str());
      if (!run.error.empty()) std::printf("error   %s\n", run.error.c_str());
    }
    if (run.kind == RunKind::Compare) {
      std::map<int32_t, std::string> pieces;  // every token text the run stored, for the student's choices
      for (const Token& t : rep.tokens) {
        pieces[t.token_id] = t.piece;
        for (const TokenAlt& a : t.alternatives) pieces[a.token_id] = a.piece;
      }
      const LabelOf label = [&](int32_t id) {
        auto it = pieces.find(id);
        return it == pieces.end() ? "#" + std::to_string(id) : token_label(it->second);
      };
      const DivergenceSnapshot d = load_divergence(store, o->id);
      if (o->json) {
        std::printf("%s\n", divergence_json(d, label).c_str());
        return;
      }
      std::printf("prompt  %s\n", run.prompt.c_str());
      print_divergence_header(stdout);
      for (const TokenDivergence& t : d.tokens) print_divergence_row(stdout, t, label);
      print_divergence_summary(stdout, d);
      return;
    }
    if (run.kind == RunKind::Trace) {
      const TraceResult r = load_trace(store, o->id);
      if (o->json) {
        std::printf("%s\n", trace_json(r).c_str());
      } else {
        std::printf("%s%s\n", run.prompt.c_str(), valid_utf8(r.generation.text).c_str());
        print_trace_summary(stdout, r);
      }
      if (!o->csv.empty()) write_trace_csv(o->csv, r);
      if (!o->png.empty()) {
        auto files = write_heatmaps(o->png, r.attention);
        std::fprintf(o->json ? stderr : stdout, "wrote %zu heatmaps to %s\n", files.size(), o->png.c_str());
      }
      return;
    }
    if (run.kind == RunKind::Pretrain || run.kind == RunKind::Distill) {
      print_training(rep, o->json);
      return;
    }
    std::string text;  // other runs: their tokens as text
    for (const Token& t : rep.tokens) text += t.piece;
    std::printf("%s\n%zu tokens\n", valid_utf8(text).c_str(), rep.tokens.size());
  });
}

}  // namespace ds::cli
