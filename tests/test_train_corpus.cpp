// Corpus pipeline: UTF-8 validation errors name the byte offset; documents; the seeded train/validation
// split; packing into fixed-length sequences (every token a target once, seeded shuffle); determinism.
#include <set>

#include "distilscope/tokenizer.h"
#include "support/files.h"
#include "support/gpu.h"
#include "train/bpe_trainer.h"
#include "train/corpus.h"

namespace ds {
namespace {

TEST(Corpus, InvalidUtf8NamesTheByteOffset) {
  EXPECT_NO_THROW(train::validate_utf8("plain \xC3\xA9t\xC3\xA9 \xF0\x9F\x99\x82", "ok"));
  EXPECT_ERROR(train::validate_utf8(std::string("abc\xC3\x28xyz"), "book.txt"),
               "[corpus] book.txt: invalid UTF-8 at byte offset 3 (bytes 0xC3 0x28 0x78 0x79)");
  EXPECT_ERROR(train::validate_utf8(std::string("ab\xED\xA0\x80"), "t"), "byte offset 2");  // a surrogate
  EXPECT_ERROR(train::validate_utf8(std::string("end \xE2\x82"), "t"), "byte offset 4");
  EXPECT_ERROR(train::validate_utf8(std::string("end \xE2\x82"), "t"), "cut off by the end");
  EXPECT_ERROR(train::validate_utf8(std::string("\xC0\xAF"), "t"), "byte offset 0");  // overlong
}

TEST(Corpus, DocumentsKeepEveryByteAndReachTheMinimumSize) {
  const std::string text = "a\nbb\nccc\n\ndddd\neeeee";
  auto lines = train::split_documents(text, "\n", 0);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0], "a\n");
  EXPECT_EQ(lines[3], "\n");
  EXPECT_EQ(lines[5], "eeeee");
  auto docs = train::split_documents(text, "\n", 4);
  std::string joined;
  for (auto d : docs) {
    joined += d;
    if (d != docs.back()) {
      EXPECT_GE(d.size(), 4u);
    }
  }
  EXPECT_EQ(joined, text);
  EXPECT_EQ(docs[0], "a\nbb\n");
}

TEST(Corpus, SplitIsSeededAndExact) {
  std::vector<std::string> store;
  for (int i = 0; i < 100; ++i) store.push_back("doc " + std::to_string(i) + "\n");
  std::vector<std::string_view> docs(store.begin(), store.end());
  auto a = train::split_train_validation(docs, 0.1, 7), b = train::split_train_validation(docs, 0.1, 7);
  auto c = train::split_train_validation(docs, 0.1, 8);
  EXPECT_EQ(a.validation.size(), 10u);
  EXPECT_EQ(a.train.size(), 90u);
  EXPECT_EQ(a.validation, b.validation);
  EXPECT_NE(a.validation, c.validation);
  std::set<std::string_view> all(a.train.begin(), a.train.end());
  all.insert(a.validation.begin(), a.validation.end());
  EXPECT_EQ(all.size(), 100u);  // a partition
  EXPECT_EQ(train::split_train_validation(docs, 0.0, 1).validation.size(), 0u);
  EXPECT_ERROR(train::split_train_validation(docs, 1.0, 1), "validation fraction");
}

TEST(Corpus, PackingCoversEveryTargetOnceInSeededOrder) {
  std::vector<int32_t> stream(1000);
  for (int i = 0; i < 1000; ++i) stream[size_t(i)] = i;
  auto plain = train::pack_sequences(stream, 16, false, 1);
  ASSERT_EQ(plain.size(), 999u / 16);
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(plain.inputs(i)[0], int32_t(i * 16));
    EXPECT_EQ(plain.targets(i)[15], int32_t(i * 16 + 16));
  }
  auto shuffled = train::pack_sequences(stream, 16, true, 5);
  auto again = train::pack_sequences(stream, 16, true, 5);
  EXPECT_EQ(shuffled.tokens, again.tokens);
  EXPECT_NE(shuffled.tokens, plain.tokens);
  std::set<int32_t> targets;
  for (size_t i = 0; i < shuffled.size(); ++i) {
    auto t = shuffled.targets(i);
    for (size_t j = 0; j < t.size(); ++j) {
      EXPECT_EQ(t[j], shuffled.inputs(i)[j] + 1);  // targets are the next tokens
      targets.insert(t[j]);
    }
  }
  EXPECT_EQ(targets.size(), shuffled.size() * 16);  // no target twice
  EXPECT_EQ(train::pack_sequences(std::vector<int32_t>(10, 1), 16, true, 1).size(), 0u);
}

TEST(Corpus, BuildIsDeterministic) {
  std::string text;
  for (int i = 0; i < 400; ++i)
    text += "Verse " + std::to_string(i) + ": and the words were " + std::to_string(i * 7) + ".\n";
  train::BpeTrainerOptions bo;
  bo.vocab_size = 400;
  auto tok = Tokenizer::create(train::train_bpe(text, bo));
  train::CorpusOptions o;
  o.min_doc_bytes = 200;
  o.seq_len = 32;
  o.validation_fraction = 0.1;
  o.doc_end_token = tok->eos();
  auto a = train::build_corpus(text, *tok, o), b = train::build_corpus(text, *tok, o);
  EXPECT_EQ(a.train.tokens, b.train.tokens);
  EXPECT_EQ(a.validation.tokens, b.validation.tokens);
  EXPECT_GT(a.train.size(), 10u);
  EXPECT_GT(a.validation.size(), 0u);
  EXPECT_GT(a.validation_docs, 0u);
  EXPECT_EQ(a.train.size(), (a.train_tokens - 1) / 32);
  EXPECT_ERROR(train::build_corpus(text + "\xFF", *tok, o),
               "invalid UTF-8 at byte offset " + std::to_string(text.size()));
}

}  // namespace
}  // namespace ds
