// Byte-level BPE trainer: trained tokenizers round-trip text exactly (ASCII, accents, CJK, emoji, odd
// whitespace), training is deterministic, merges follow pair frequency, the result survives GGUF
// (write_tokenizer_gguf -> Tokenizer::from_gguf gives the same ids), and bad input fails clearly.
// DS_BPE_CORPUS=<file> also times training on that file (e.g. the KJV Bible: `bible -f "Gen1:1-Rev22:21"`).
#include <chrono>
#include <cstdlib>

#include "distilscope/tokenizer.h"
#include "model/gguf.h"
#include "support/files.h"
#include "text/gguf_tokenizer.h"
#include "train/bpe_trainer.h"

namespace ds {
namespace {

std::string sample_text() {
  std::string t;
  const char* lines[] = {
      "In the beginning was the Word, and the Word was with God.\n",
      "And the evening and the morning were the first day.\n",
      "Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 -- don't, won't, they're; 1234 + 5678 = 6912!\n",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE6\x96\x87\xE7\xAB\xA0 \xF0\x9F\x99\x82\xF0\x9F\x8E\x89 "
      "\xCE\x95\xCE\xBD \xE1\xBC\x80\xCF\x81\xCF\x87\xE1\xBF\x87\n",
      "\ttabs\tand   spaces  \r\n  trailing   \n\n",
  };
  for (int i = 0; i < 30; ++i)
    for (const char* l : lines) t += l;
  return t;
}

TEST(BpeTrainer, RoundTripsTextExactly) {
  train::BpeTrainerOptions o;
  o.vocab_size = 500;
  auto tok = Tokenizer::create(train::train_bpe(sample_text(), o));
  EXPECT_LE(tok->vocab_size(), 500);  // fewer when pairs run out (min_pair_count)
  EXPECT_GT(tok->vocab_size(), 300);
  const std::string unseen[] = {sample_text(),
                                "Unseen words: zebra quixotic \xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC 99%",
                                "",
                                " ",
                                "\n\n\n",
                                "a",
                                "\xF0\x9F\x98\x80",
                                "<|endoftext|> is text here"};
  for (const std::string& s : unseen) {
    auto ids = tok->encode(s, false, false);
    EXPECT_EQ(tok->decode(ids), s);
  }
  // Merges shorten the training text well below one token per byte.
  EXPECT_LT(tok->encode(sample_text(), false, false).size(), sample_text().size() / 3);
  // The special token is a control token, parsed only when asked.
  auto special = tok->encode("<|endoftext|>", false, true);
  ASSERT_EQ(special.size(), 1u);
  EXPECT_EQ(special[0], tok->eos());
  EXPECT_EQ(tok->type(special[0]), TokenType::Control);
}

TEST(BpeTrainer, IsDeterministic) {
  train::BpeTrainerOptions o;
  o.vocab_size = 400;
  auto a = train::train_bpe(sample_text(), o), b = train::train_bpe(sample_text(), o);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.merges, b.merges);
}

TEST(BpeTrainer, MergesTheMostFrequentPairFirst) {
  // "ab" occurs 6 times, "cd" 3 times, as separate words.
  train::BpeTrainerOptions o;
  o.vocab_size = 256 + 2 + 1;
  o.min_pair_count = 1;
  auto d = train::train_bpe("ab ab ab ab ab ab cd cd cd", o);
  ASSERT_GE(d.merges.size(), 2u);
  EXPECT_EQ(d.merges[0], std::make_pair(std::string("a"), std::string("b")));
  EXPECT_EQ(d.merges[1], std::make_pair(std::string("\xC4\xA0"), std::string("ab")));  // "Ġ" + "ab": " ab" x5
  EXPECT_EQ(d.tokens[256], "ab");
}

TEST(BpeTrainer, StopsWhenPairsBecomeRare) {
  train::BpeTrainerOptions o;
  o.vocab_size = 10000;
  auto d = train::train_bpe("xyz", o);  // every pair occurs once, below min_pair_count = 2
  EXPECT_EQ(d.merges.size(), 0u);
  EXPECT_EQ(d.tokens.size(), 257u);
}

TEST(BpeTrainer, SurvivesGguf) {
  train::BpeTrainerOptions o;
  o.vocab_size = 450;
  auto data = train::train_bpe(sample_text(), o);
  test::TempDir dir;
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  write_tokenizer_gguf(w, data);
  w.write(dir / "tok.gguf");
  GgufFile f(dir / "tok.gguf");
  auto back = tokenizer_data_from_gguf(f);
  EXPECT_EQ(back.tokens, data.tokens);
  EXPECT_EQ(back.merges, data.merges);
  EXPECT_EQ(back.types, data.types);
  EXPECT_EQ(back.eos, data.eos);
  EXPECT_EQ(back.bos, data.bos);
  EXPECT_EQ(back.unk, -1);
  auto a = Tokenizer::create(data), b = Tokenizer::from_gguf(f);
  EXPECT_EQ(a->encode(sample_text(), false, false), b->encode(sample_text(), false, false));
}

TEST(BpeTrainer, RejectsBadInput) {
  train::BpeTrainerOptions o;
  EXPECT_ERROR(train::train_bpe("ok \xE2\x28\xA1 bad", o), "invalid UTF-8 at byte offset 3");
  o.vocab_size = 200;
  EXPECT_ERROR(train::train_bpe("text", o), "cannot hold the 256 byte tokens");
  o.vocab_size = 300;
  o.pre = "no-such-rules";
  EXPECT_ERROR(train::train_bpe("text", o), "unknown pre-tokenizer 'no-such-rules'");
}

TEST(BpeTrainer, SpeedOnCorpusFile) {
  const char* path = std::getenv("DS_BPE_CORPUS");
  if (!path) GTEST_SKIP() << "set DS_BPE_CORPUS=<text file> to time training on it";
  const std::string text = test::read_bytes(path);
  for (int vocab : {4096, 8192}) {
    train::BpeTrainerOptions o;
    o.vocab_size = vocab;
    train::BpeTrainStats stats;
    const auto t0 = std::chrono::steady_clock::now();
    auto data = train::train_bpe(text, o, &stats);
    const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto tok = Tokenizer::create(std::move(data));
    const auto t1 = std::chrono::steady_clock::now();
    auto ids = tok->encode(text, false, false);
    const double enc_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    EXPECT_EQ(tok->decode(ids), text);
    std::printf(
        "[bpe] %zu bytes, %zu words (%zu unique), vocab %d: trained in %.2f s (%zu merges); "
        "encoded in %.2f s to %zu tokens (%.2f bytes/token)\n",
        text.size(), stats.words, stats.unique_words, vocab, train_s, stats.merges, enc_s, ids.size(),
        double(text.size()) / double(ids.size()));
  }
}

}  // namespace
}  // namespace ds
