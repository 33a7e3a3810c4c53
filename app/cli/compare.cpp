// `compare TEACHER STUDENT -p PROMPT`: the teacher generates greedily, the student reads the same tokens;
// prints per token the KL, top-1 agreement and the student's choice where it differs, then a per-layer
// summary (or JSON), and stores the run.
#include <cstdio>

#include "common.h"
#include "compare_print.h"
#include "distilscope/model.h"
#include "distilscope/pair.h"
#include "distilscope/probe_store.h"
#include "distilscope/tokenizer.h"
#include "distilscope/trace.h"
#include "util/error.h"

namespace ds::cli {

void add_compare(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("compare", "Teacher vs student on the teacher's greedy text: KL, agreement, per layer");
  struct Opts {
    std::string teacher, student, prompt = "Once upon a time";
    int n = 32, topk = 10;
    bool json = false, no_js = false, no_layers = false, no_store = false, no_bos = false;
    StoreFlag store;
    DeviceFlags dev;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("teacher", o->teacher, "Teacher GGUF (generates)")->required();
  cmd->add_option("student", o->student, "Student GGUF (teacher-forced; same tokenizer)")->required();
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text")->capture_default_str();
  cmd->add_option("-n,--n-predict", o->n, "Tokens the teacher generates")->capture_default_str();
  cmd->add_option("--top-k", o->topk, "k of the top-k overlap (1..16)")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON instead of the table");
  cmd->add_flag("--no-js", o->no_js, "No per-layer attention Jensen-Shannon divergence");
  cmd->add_flag("--no-layers", o->no_layers, "No per-layer comparison at all");
  cmd->add_flag("--no-bos", o->no_bos, "Do not add the BOS token");
  cmd->add_flag("--no-store", o->no_store, "Do not record the run in the store");
  o->store.add(cmd);
  o->dev.add(cmd);
  cmd->callback([o] {
    auto dev = o->dev.open();
    auto teacher = Model::load(*dev, o->teacher);
    auto student = Model::load(*dev, o->student);
    PairOptions po;
    po.div_topk = o->topk;
    po.layer_cosine = !o->no_layers;
    po.attention_js = !o->no_js;
    Pair pair(*teacher, *student, po);
    const Tokenizer& tok = teacher->tokenizer();
    const auto prompt = tok.encode(o->prompt, !o->no_bos && tok.add_bos(), true);
    const LabelOf label = [&](int32_t id) { return token_label(tok, id); };

    std::unique_ptr<StoreWriter> writer;
    int64_t run_id = 0;
    if (!o->no_store) {
      Store store(o->store.path());
      Run run;
      run.kind = RunKind::Compare;
      run.prompt = o->prompt;
      run.config_json = compare_config_json(po, pair, o->n);
      run.model_id = register_model(store, *student);
      run.teacher_model_id = register_model(store, *teacher);
      run_id = store.create_run(run);
      writer = std::make_unique<StoreWriter>(o->store.path());
      writer->submit(prompt_writes(run_id, prompt, tok));
    }
    if (!o->json) {
      std::printf("teacher %s\nstudent %s\nprompt  %s\n", o->teacher.c_str(), o->student.c_str(), o->prompt.c_str());
      print_divergence_header(stdout);
    }
    DivergenceSnapshot snap;
    try {
      snap = pair.run_tokens(prompt, o->n, [&](const PairStep& step) {
        if (!o->json) print_divergence_row(stdout, step.div, label);
        if (writer) writer->submit(pair_step_writes(run_id, step, tok));
        return true;
      });
    } catch (const std::exception& e) {
      if (writer) writer->submit(RunFinish{run_id, RunStatus::Failed, e.what()});
      throw;
    }
    if (writer) {
      writer->submit(RunFinish{run_id, RunStatus::Done, ""});
      writer->flush();
      auto errors = writer->take_errors();
      if (!errors.empty()) throw Error("storing the comparison failed: " + errors.front());
    }
    if (o->json) {
      std::printf("%s\n", divergence_json(snap, label).c_str());
    } else {
      print_divergence_summary(stdout, snap);
      if (run_id) std::printf("stored as run %lld in %s\n", static_cast<long long>(run_id), o->store.path().c_str());
    }
  });
}

}  // namespace ds::cli
