// `distill TEACHER --plan PLAN.json [-o DIR] [--resume]`: staged distillation of hybrid students from a teacher
// (engine/train/distill.h); the plan's format is in docs/training.md, "Distillation". The plan is checked
// against the teacher before the device is opened.
#include "train/distill.h"

#include <cstdio>

#include "common.h"
#include "distilscope/model.h"

namespace ds::cli {

void add_distill(CLI::App& app) {
  auto* cmd = app.add_subcommand("distill", "Distill hybrid students from a teacher in stages (a JSON plan)");
  struct Opts {
    std::string teacher, plan, out = "distill-out", store;
    bool resume = false;
    int nan_at_step = -1;
    DeviceFlags dev;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("teacher", o->teacher, "Teacher: GGUF file or Hugging Face directory")->required();
  cmd->add_option("--plan,-p", o->plan, "JSON plan (keys: docs/training.md, Distillation)")->required();
  cmd->add_option("-o,--out", o->out, "Output directory: stage-N.gguf, plan.json, checkpoints")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Continue an interrupted run in the output directory");
  cmd->add_option("--store", o->store, "SQLite store path, or 'none' (overrides output.store)");
  cmd->add_option("--debug-nan-at-step", o->nan_at_step, "Testing: make this global step's loss NaN")->group("");
  o->dev.add(cmd);
  cmd->callback([o] {
    const train::DistillPlan plan = train::read_distill_plan(o->plan);
    train::check_plan(plan, inspect_model(o->teacher).config);
    auto dev = o->dev.open();
    train::DistillOptions d;
    d.out_dir = o->out;
    d.resume = o->resume;
    d.store = o->store;
    d.nan_at_step = o->nan_at_step;
    const train::DistillResult r = train::distill(*dev, o->teacher, plan, d);
    std::printf("stage  layers      ppl before -> after   KL before -> after   top-1 before -> after   decode tok/s\n");
    for (size_t s = 0; s < r.stages.size(); ++s) {
      const auto& st = r.stages[s];
      if (st.skipped) {
        std::printf("%5zu  (done before the resume) %s\n", s, st.model.c_str());
        continue;
      }
      std::string layers;
      for (int l : st.layers) layers += (layers.empty() ? "" : ",") + std::to_string(l);
      if (s < plan.stages.size() && plan.stages[s].train == train::TrainGroup::Lora)  // adapters merged
        layers += (layers.empty() ? "" : " ") + std::string("+lora") + std::to_string(plan.stages[s].lora.rank);
      std::printf("%5zu  %-10s  %9.3f -> %-8.3f  %8.4f -> %-8.4f  %11.3f -> %-8.3f  %8.1f\n", s, layers.c_str(),
                  st.before.perplexity(), st.after.perplexity(), st.before.kl, st.after.kl, st.before.top1,
                  st.after.top1, st.decode_tokens_per_s);
    }
    if (r.run_id) std::printf("store run %lld\n", static_cast<long long>(r.run_id));
  });
}

}  // namespace ds::cli
