// `trace MODEL -p PROMPT`: generates with probes on (attention rows of the chosen layers and heads,
// activations, optionally the logit lens), stores the run, and exports JSON / CSV / PNG heatmaps.
#include <cstdio>

#include "common.h"
#include "distilscope/model.h"
#include "distilscope/probe_store.h"
#include "distilscope/session.h"
#include "distilscope/tokenizer.h"
#include "distilscope/trace.h"
#include "heatmap.h"
#include "trace_export.h"
#include "util/error.h"

namespace ds::cli {

void add_trace(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("trace", "Generate with probes on; store the run; export attention maps and activations");
  struct Opts {
    std::string model, prompt = "Once upon a time", png, json, csv;
    int n = 16, ctx = 0, hist_bins = 64;
    float temp = 0, hist_range = 8;
    uint64_t seed = 0;
    std::vector<std::string> layers{"all"}, heads{"all"};
    bool lens = false, no_stats = false, no_attention = false, no_store = false, no_blobs = false, quiet = false;
    bool no_bos = false;
    StoreFlag store;
    DeviceFlags dev;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF file (default: the embedded default model)");
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text")->capture_default_str();
  cmd->add_option("-n,--n-predict", o->n, "Tokens to generate")->capture_default_str();
  cmd->add_option("--layers", o->layers, "Captured layers, comma list or 'all'")->delimiter(',')->capture_default_str();
  cmd->add_option("--heads", o->heads, "Captured heads, comma list or 'all'")->delimiter(',')->capture_default_str();
  cmd->add_option("--png", o->png, "Write a heatmap per captured layer/head into this directory");
  auto* json = cmd->add_option("--json", o->json, "Write tokens, attention rows and activations as JSON");
  cmd->add_option("--csv", o->csv, "Write attention rows as CSV (and activations to <name>.activations.csv)")
      ->excludes(json);
  cmd->add_flag("--lens", o->lens, "Logit lens: top tokens of each captured layer (reads the lm head per layer)");
  cmd->add_flag("--no-stats", o->no_stats, "No activation statistics");
  cmd->add_flag("--no-attention", o->no_attention, "No attention rows");
  cmd->add_option("--hist-range", o->hist_range, "Residual histogram over [-R, R]")->capture_default_str();
  cmd->add_option("--hist-bins", o->hist_bins, "Residual histogram bins")->capture_default_str();
  cmd->add_option("--temp", o->temp, "Temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--ctx", o->ctx, "Context length (default: prompt + n)");
  cmd->add_flag("--no-bos", o->no_bos, "Do not add the BOS token");
  cmd->add_flag("--no-store", o->no_store, "Do not record the run in the store");
  cmd->add_flag("--no-blobs", o->no_blobs, "Store tokens only, not attention rows and activations");
  cmd->add_flag("-q,--quiet", o->quiet, "Only the generated text and where things were written");
  o->store.add(cmd);
  o->dev.add(cmd);
  cmd->callback([o] {
    const std::string path = resolve_model(o->model);
    auto dev = o->dev.open();
    auto model = Model::load(*dev, path);
    const Tokenizer& tok = model->tokenizer();
    const size_t prompt_tokens = tok.encode(o->prompt, !o->no_bos && tok.add_bos(), true).size();
    Session s(*model, SessionOptions{o->ctx > 0 ? o->ctx : int(prompt_tokens) + o->n, 512});
    TraceOptions t;
    t.layers = parse_index_list(o->layers, "layers");
    t.heads = parse_index_list(o->heads, "heads");
    t.attention = !o->no_attention;
    t.activations = !o->no_stats;
    t.logit_lens = o->lens;
    t.hist_bins = o->hist_bins;
    t.hist_range = o->hist_range;
    GenerateOptions g;
    g.max_tokens = o->n;
    g.sampling.temperature = o->temp;
    g.sampling.seed = o->seed;
    g.add_bos = !o->no_bos;

    // The run is created first; every pass's tokens and captures go to the writer thread as they come.
    std::unique_ptr<StoreWriter> writer;
    int64_t run_id = 0;
    if (!o->no_store) {
      Store store(o->store.path());
      Run run;
      run.kind = RunKind::Trace;
      run.prompt = o->prompt;
      run.config_json = trace_config_json(t, model->config(), g);
      run.model_id = register_model(store, *model);
      run_id = store.create_run(run);
      writer = std::make_unique<StoreWriter>(o->store.path());
    }
    TraceResult r;
    try {
      r = trace(s, o->prompt, g, t, [&](const TraceStep& step) {
        if (writer) writer->submit(trace_step_writes(run_id, step, !o->no_blobs));
      });
    } catch (const std::exception& e) {
      if (writer) writer->submit(RunFinish{run_id, RunStatus::Failed, e.what()});
      throw;
    }
    if (writer) {
      writer->submit(RunFinish{run_id, RunStatus::Done, ""});
      writer->flush();
      auto errors = writer->take_errors();
      if (!errors.empty()) throw Error("storing the trace failed: " + errors.front());
    }

    std::printf("%s%s\n", o->prompt.c_str(), r.generation.text.c_str());
    if (!o->quiet) print_trace_summary(stdout, r);
    if (run_id) std::printf("stored as run %lld in %s\n", static_cast<long long>(run_id), o->store.path().c_str());
    if (!o->json.empty()) {
      write_text_file(o->json, trace_json(r));
      std::printf("wrote %s\n", o->json.c_str());
    }
    if (!o->csv.empty()) {
      write_trace_csv(o->csv, r);
      std::printf("wrote %s\n", o->csv.c_str());
    }
    if (!o->png.empty()) {
      auto files = write_heatmaps(o->png, r.attention);
      std::printf("wrote %zu heatmaps to %s\n", files.size(), o->png.c_str());
    }
  });
}

}  // namespace ds::cli
