// `tokenizer train CORPUS --vocab N -o tok.gguf`: trains a byte-level BPE tokenizer on a UTF-8 text
// (engine/train/bpe_trainer.h) and writes it as a GGUF holding only tokenizer.ggml.* metadata, which
// `pretrain` (data.tokenizer) and `tokenize` read.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "common.h"
#include "model/gguf.h"
#include "text/gguf_tokenizer.h"
#include "train/bpe_trainer.h"
#include "util/error.h"

namespace ds::cli {

void add_tokenizer(CLI::App& app) {
  auto* group = app.add_subcommand("tokenizer", "Tokenizer tools (train)");
  group->require_subcommand(1);
  auto* cmd = group->add_subcommand("train", "Train a byte-level BPE tokenizer on a UTF-8 text file");
  struct Opts {
    std::string corpus, out, pre = "gpt-2";
    int vocab = 4096, min_count = 2;
    std::vector<std::string> special = {"<|endoftext|>"};
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("corpus", o->corpus, "UTF-8 text file")->required();
  cmd->add_option("--vocab", o->vocab, "Vocabulary size: 256 bytes + merges + special tokens")->capture_default_str();
  cmd->add_option("-o,--output", o->out, "Output GGUF")->required();
  cmd->add_option("--pre", o->pre, "Pre-tokenizer rule set")->capture_default_str();
  cmd->add_option("--special", o->special, "Special tokens (the first is bos and eos)")->capture_default_str();
  cmd->add_option("--min-count", o->min_count, "Stop when the best pair occurs fewer times")->capture_default_str();
  cmd->callback([o] {
    std::ifstream in(o->corpus, std::ios::binary);
    if (!in) throw Error(cat(o->corpus, ": cannot read: ", std::strerror(errno)));
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto t0 = std::chrono::steady_clock::now();
    train::BpeTrainStats stats;
    TokenizerData d;
    try {
      d = train::train_bpe(text, {o->vocab, o->pre, o->special, o->min_count}, &stats);
    } catch (const Error& e) {
      throw Error(cat(o->corpus, ": ", e.what()));
    }
    GgufWriter w;
    w.set_string("general.name", "distilscope-bpe");
    write_tokenizer_gguf(w, d);
    w.write(o->out);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: %zu tokens (%zu merges) from %zu words (%zu unique) in %.2f s\n", o->out.c_str(), d.tokens.size(),
                stats.merges, stats.words, stats.unique_words, s);
  });
}

}  // namespace ds::cli
