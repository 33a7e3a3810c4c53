// `run [MODEL] -p PROMPT`: generates text, streaming tokens to stdout; statistics to stderr.
#include <cstdio>

#include "common.h"
#include "distilscope/generate.h"
#include "distilscope/model.h"
#include "distilscope/session.h"
#include "profile_print.h"

namespace ds::cli {

void add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt, streaming it to stdout");
  struct Opts {
    std::string model, prompt = "Once upon a time", quantize;
    int n = 128, ctx = 0, top_k = 40, repeat_last_n = 64;
    float temp = 0.8f, top_p = 0.95f, min_p = 0.05f, repeat_penalty = 1.0f;
    uint64_t seed = 0;
    std::vector<std::string> stop;
    bool no_bos = false, quiet = false;
    DeviceFlags dev;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF file or Hugging Face directory (default: the embedded default model)");
  cmd->add_option("--quantize", o->quantize, "Quantize 16/32-bit weights on load: q8_0");
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text")->capture_default_str();
  cmd->add_option("-n,--n-predict", o->n, "Maximum tokens to generate")->capture_default_str();
  cmd->add_option("--ctx", o->ctx, "Context length (default: the model's, at most 4096)");
  cmd->add_option("--temp", o->temp, "Temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "Keep the k most likely tokens; 0 = off")->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "Keep the smallest set with this probability mass; 1 = off")->capture_default_str();
  cmd->add_option("--min-p", o->min_p, "Drop tokens below min-p times the top probability; 0 = off")->capture_default_str();
  cmd->add_option("--repeat-penalty", o->repeat_penalty, "Penalty for recently seen tokens; 1 = off")->capture_default_str();
  cmd->add_option("--repeat-last-n", o->repeat_last_n, "Window of the repetition penalty")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed (same seed, same text)")->capture_default_str();
  cmd->add_option("--stop", o->stop, "Stop string (repeatable)");
  cmd->add_flag("--no-bos", o->no_bos, "Do not add the BOS token");
  cmd->add_flag("-q,--quiet", o->quiet, "No statistics on stderr");
  o->dev.add(cmd);
  cmd->callback([o] {
    std::string path = resolve_model(o->model);
    auto dev = o->dev.open();
    LoadOptions lo;
    lo.quantize = o->quantize;
    auto model = Model::load(*dev, path, lo);
    Session session(*model, SessionOptions{o->ctx});
    GenerateOptions g;
    g.max_tokens = o->n;
    g.sampling = {o->temp, o->top_k, o->top_p, o->min_p, o->repeat_penalty, o->repeat_last_n, o->seed};
    g.stop = o->stop;
    g.add_bos = !o->no_bos;
    std::printf("%s", o->prompt.c_str());
    std::fflush(stdout);
    auto r = generate(session, o->prompt, g, [](const TokenEvent& ev) {
      std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::printf("\n");
    if (!o->quiet) {
      std::fprintf(stderr, "[%s] %d prompt tokens: %.1f ms (%.1f tok/s); %d generated, decode %.1f tok/s; stop: %s\n",
                   dev->info().name.c_str(), r.stats.prompt_tokens, r.stats.prefill_ms, r.stats.prefill_tokens_per_s(),
                   r.stats.generated, r.stats.decode_tokens_per_s(), stop_reason_name(r.reason));
      if (o->dev.profile) print_profile(session.last_timings(), "last decode step");
    }
  });
}

}  // namespace ds::cli
