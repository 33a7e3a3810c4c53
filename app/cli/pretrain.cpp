// `pretrain --config FILE`: trains a llama-architecture model from scratch (engine/train/pretrain.h);
// `--resume` continues the checkpoint in the output directory. Paths on the command line override the
// config's (relative to the current directory; the config's own are relative to the config file).
#include "train/pretrain.h"

#include <cstdio>

#include "common.h"

namespace ds::cli {

void add_pretrain(CLI::App& app) {
  auto* cmd = app.add_subcommand("pretrain", "Train a llama-architecture model from scratch on a text corpus");
  struct Opts {
    std::string config, corpus, tokenizer, out, store;
    int steps = 0, nan_at_step = -1;
    bool resume = false;
    DeviceFlags dev;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--config,-c", o->config, "JSON config (keys: docs/training.md, Trainer)")->required();
  cmd->add_flag("--resume", o->resume, "Continue from OUT/checkpoint.gguf");
  cmd->add_option("--corpus", o->corpus, "UTF-8 text file (overrides data.corpus)");
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer GGUF (overrides data.tokenizer)");
  cmd->add_option("-o,--out", o->out, "Output directory (overrides output.dir)");
  cmd->add_option("--steps", o->steps, "Optimizer steps (overrides train.steps)");
  cmd->add_option("--store", o->store, "SQLite store path, or 'none' (overrides output.store)");
  cmd->add_option("--debug-nan-at-step", o->nan_at_step, "Testing: make this step's loss NaN")->group("");
  o->dev.add(cmd);
  cmd->callback([o] {
    train::PretrainConfig c = train::read_pretrain_config(o->config);
    if (!o->corpus.empty()) c.data.corpus = o->corpus;
    if (!o->tokenizer.empty()) c.data.tokenizer = o->tokenizer;
    if (!o->out.empty()) c.output.dir = o->out;
    if (!o->store.empty()) c.output.store = o->store;
    if (o->steps > 0) c.train.steps = o->steps;
    auto dev = o->dev.open();
    train::PretrainOptions po;
    po.resume = o->resume;
    po.nan_at_step = o->nan_at_step;
    train::pretrain(*dev, c, po);
  });
}

}  // namespace ds::cli
