// distilscope-cli entry point: registers the subcommands (one file each) and turns any error into
// a one-line message and exit code 1.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "common.h"

int main(int argc, char** argv) {
  CLI::App app{
      "distilscope-cli: run, inspect and benchmark language models on DistilScope's Vulkan engine.\n"
      "Models: GGUF files or Hugging Face directories of the llama family (llama, Mistral-style, qwen2) and their\n"
      "hybrid students (attention / linear / Mamba layers, Apriel-H1), weights in F32/F16/BF16/Q8_0/Q4_0.\n"
      "Start with `distilscope-cli devices`, then `distilscope-cli run MODEL.gguf -p \"Once upon a time\"`."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  ds::cli::add_devices(app);
  ds::cli::add_info(app);
  ds::cli::add_run(app);
  ds::cli::add_tokenize(app);
  ds::cli::add_bench(app);
  ds::cli::add_synth(app);
  ds::cli::add_tokenizer(app);
  ds::cli::add_pretrain(app);
  ds::cli::add_convert(app);
  ds::cli::add_linearize(app);
  ds::cli::add_trace(app);
  ds::cli::add_compare(app);
  ds::cli::add_sessions(app);
  ds::cli::add_replay(app);
  ds::cli::add_distill(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
