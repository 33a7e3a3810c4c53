// Test support for the trainer: the small KJV text of tests/data (Genesis 1-6, 19 KB), a BPE tokenizer
// trained on it (written as a tokenizer GGUF), and a tiny pretraining config (d 64, 2 layers, T 32) over them.
#pragma once
#include <string>

#include "model/gguf.h"
#include "support/files.h"
#include "text/gguf_tokenizer.h"
#include "train/bpe_trainer.h"
#include "train/train_config.h"

namespace ds::test {

inline std::string small_corpus_path() { return std::string(DS_SOURCE_DIR) + "/tests/data/kjv-genesis-1-6.txt"; }

// Trains a byte-level BPE tokenizer of `vocab` tokens on the small corpus and writes it to `path`.
inline TokenizerData write_small_tokenizer(const std::string& path, int vocab = 384) {
  TokenizerData d = train::train_bpe(read_bytes(small_corpus_path()), {.vocab_size = vocab});
  GgufWriter w;
  write_tokenizer_gguf(w, d);
  w.write(path);
  return d;
}

// d_model 64, 2 layers, 4 heads (2 kv), T 32, batch 8, store off; output under dir.
inline train::PretrainConfig tiny_pretrain_config(const TempDir& dir) {
  train::PretrainConfig c;
  c.model.n_layers = 2;
  c.model.d_model = 64;
  c.model.n_heads = 4;
  c.model.n_kv_heads = 2;
  c.model.ffn_dim = 160;
  c.data.corpus = small_corpus_path();
  c.data.tokenizer = dir / "tok.gguf";
  c.data.validation_fraction = 0.1;
  c.train.seq_len = 32;
  c.train.batch_seqs = 8;
  c.train.steps = 40;
  c.optim.lr = 1e-2f;
  c.optim.min_lr = 1e-3f;
  c.optim.warmup_steps = 5;
  c.eval.interval = 20;
  c.eval.sequences = 16;
  c.output.dir = dir / "out";
  c.output.checkpoint_interval = 20;
  c.output.log_interval = 10;
  c.output.export_type = DType::F32;
  c.output.store = "none";
  return c;
}

}  // namespace ds::test
