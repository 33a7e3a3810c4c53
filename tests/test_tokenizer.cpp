// Tokenizers: conformance against the reference engine's vectors (../shared/tokenizer-vectors, one
// test case per vocabulary), the stories260K tokenizer, round trips, stream decoding, bad input.
// The vectors encode without BOS/EOS and without special-token parsing (add_special = false,
// parse_special = false, as the reference's test-tokenizer-0 calls its tokenizer).
#include <fstream>
#include <sstream>

#include "distilscope/tokenizer.h"
#include "model/gguf.h"
#include "support/gpu.h"
#include "text/gguf_tokenizer.h"
#include "text/pretokenize.h"
#include "support/tokenizer_vectors.h"

namespace ds {
namespace {

using test::read_vectors;
using test::show;
using test::VectorCase;

std::unique_ptr<Tokenizer> load(const std::filesystem::path& p) { return Tokenizer::from_gguf(GgufFile(p.string())); }

// --- Conformance ---------------------------------------------------------------------------

class TokenizerVectors : public testing::TestWithParam<std::string> {};

TEST_P(TokenizerVectors, EncodesLikeReference) {
  DS_REQUIRE_SHARED("tokenizer-vectors/ggml-vocab-" + GetParam() + ".gguf", path);
  auto tok = load(path);
  auto cases = read_vectors(path);
  ASSERT_GT(cases.size(), 10u);
  size_t passed = 0, round_trips = 0;
  std::string failures;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    auto got = tok->encode(c.input, /*add_special=*/false, /*parse_special=*/false);
    if (got == c.expected)
      ++passed;
    else
      failures += cat("\n  input ", i, " '", show(c.input), "'\n    expected ", show(c.expected), "\n    got      ",
                      show(got));
    std::string back = tok->decode(got);
    if (back == c.input)
      ++round_trips;
    else
      failures += cat("\n  input ", i, " '", show(c.input), "' decodes back to '", show(back), "'");
  }
  EXPECT_EQ(passed, cases.size()) << GetParam() << ": " << passed << "/" << cases.size() << " inputs match"
                                  << failures;
  EXPECT_EQ(round_trips, cases.size()) << GetParam() << ": " << round_trips << "/" << cases.size()
                                       << " inputs decode back exactly";
  std::cout << "[ vectors  ] " << GetParam() << " " << passed << "/" << cases.size() << "\n";
}

INSTANTIATE_TEST_SUITE_P(Vocab, TokenizerVectors,
                         testing::Values("llama-spm", "phi-3", "gpt-2", "mpt", "falcon", "starcoder", "refact",
                                         "deepseek-llm", "deepseek-coder"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// Vocabularies without vectors: they load, and text survives a round trip.
class TokenizerLoads : public testing::TestWithParam<std::string> {};

TEST_P(TokenizerLoads, RoundTrips) {
  DS_REQUIRE_SHARED("tokenizer-vectors/ggml-vocab-" + GetParam() + ".gguf", path);
  auto tok = load(path);
  for (std::string text : {"Hello world", " leading space", "Élève à l'école", "مرحبا بالعالم", "emoji 🦙🚀 ok",
                           "tabs\tand\nnewlines\n\n  ", "数字 12345 和汉字"}) {
    auto ids = tok->encode(text, false, false);
    EXPECT_FALSE(ids.empty()) << show(text);
    EXPECT_EQ(tok->decode(ids), text) << show(text) << " -> " << show(ids);
    auto with_bos = tok->encode(text, true, false);
    if (tok->add_bos()) {
      EXPECT_EQ(with_bos.front(), tok->bos());
    }
    EXPECT_EQ(tok->decode(with_bos), text);
  }
}

INSTANTIATE_TEST_SUITE_P(Vocab, TokenizerLoads, testing::Values("gpt-neox", "baichuan"), [](const auto& info) {
  std::string n = info.param;
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
});

TEST(TokenizerVocab, BertIsRejectedClearly) {
  DS_REQUIRE_SHARED("tokenizer-vectors/ggml-vocab-bert-bge.gguf", path);
  try {
    load(path);
    FAIL() << "bert vocabulary loaded, but WordPiece is not implemented";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("WordPiece"), std::string::npos) << e.what();
  }
}

// --- Pre-tokenizers --------------------------------------------------------------------------

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> names;
  std::istringstream s(list);
  for (std::string n; std::getline(s, n, ',');) names.push_back(n.substr(n.find_first_not_of(' ')));
  return names;
}

std::vector<std::string> pieces(std::string_view pre, std::string_view text) {
  std::vector<std::string> out;
  for (auto p : text::PreTokenizer(pre).split(text)) out.emplace_back(p);
  return out;
}

TEST(PreTokenizer, EveryRuleSetCompilesAndKeepsAllText) {
  const std::string text = "Hello, y'all! How're you 😁 ?我想在apple工作1314151天～\n\n  \t x\xff\xfe 3.14 ÉCOLE";
  auto names = split_names(text::PreTokenizer::supported_names());
  EXPECT_GE(names.size(), 30u);
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    std::string joined;
    for (const auto& p : pieces(name, text)) {
      EXPECT_FALSE(p.empty());
      joined += p;
    }
    EXPECT_EQ(joined, text);
  }
}

TEST(PreTokenizer, FamilyRules) {
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces("gpt-2", "  Hello world's"), (V{" ", " Hello", " world", "'s"}));
  EXPECT_EQ(pieces("llama-bpe", "3333333 I'M"), (V{"333", "333", "3", " I", "'M"}));
  EXPECT_EQ(pieces("qwen2", "123\n\n x"), (V{"1", "2", "3", "\n\n", " x"}));
  EXPECT_EQ(pieces("starcoder", "ab12"), (V{"ab", "1", "2"}));
  EXPECT_EQ(pieces("gpt-2", "a\xff b"), (V{"a", "\xff", " b"}));  // invalid UTF-8 stays a piece of its own
}

// --- Special tokens and end of generation (phi-3: control <|end|>, user-defined </s>) ----------

TEST(TokenizerSpecial, ParsesControlTokensOnlyWhenAsked) {
  DS_REQUIRE_SHARED("tokenizer-vectors/ggml-vocab-phi-3.gguf", path);
  auto tok = load(path);
  const int32_t end = 32007;
  ASSERT_EQ(tok->piece(end), "<|end|>");
  auto parsed = tok->encode("Hi<|end|>", false, true);
  EXPECT_EQ(parsed.back(), end) << show(parsed);
  auto plain = tok->encode("Hi<|end|>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), end), 0) << show(plain);
  // User-defined tokens are split out either way.
  auto user = tok->encode("a</s>", false, false);
  EXPECT_EQ(user.back(), 2) << show(user);
  EXPECT_TRUE(tok->is_end_of_generation(end));
  EXPECT_TRUE(tok->is_end_of_generation(tok->eos()));
  EXPECT_FALSE(tok->is_end_of_generation(parsed.front()));
  EXPECT_EQ(tok->token_bytes(end), "");  // control tokens are markup, not text
}

// --- stories260K ---------------------------------------------------------------------------

TEST(TokenizerStories, PromptIdsMatchModelReadme) {
  DS_REQUIRE_SHARED("models/stories260K.gguf", path);
  auto tok = load(path);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->model(), "llama");
  EXPECT_EQ(tok->encode("Once upon a time", true, false), (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok->bos(), 1);
  EXPECT_TRUE(tok->is_end_of_generation(2));
  // GGUF's 0xFFFFFFFF means "no such token"; SPM defaults apply where the file is silent.
  EXPECT_EQ(tok->data().sep, -1);
  EXPECT_EQ(tok->data().pad, -1);
  EXPECT_TRUE(tok->data().add_space_prefix);
  EXPECT_TRUE(tok->add_bos());
  EXPECT_FALSE(tok->add_eos());
}

TEST(TokenizerStories, RoundTrips) {
  DS_REQUIRE_SHARED("models/stories260K.gguf", path);
  auto tok = load(path);
  for (std::string text : {"Once upon a time, there was a little girl named Lily.", "Élève à l'école",
                           "مرحبا بالعالم", "emoji 🦙 and 😁", "  two spaces,\ttab\nnewline", "你好，世界"}) {
    auto ids = tok->encode(text, true, false);
    EXPECT_EQ(tok->decode(ids), text) << show(text) << " -> " << show(ids);
  }
  // A 512-token vocabulary has no Chinese pieces: those characters go through byte tokens.
  auto ids = tok->encode("你", false, false);
  EXPECT_EQ(ids.size(), 4u) << show(ids);  // "▁" + three byte tokens
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(tok->type(ids[i]), TokenType::Byte) << ids[i];
}

// --- StreamDecoder -------------------------------------------------------------------------

// A tiny SPM vocabulary: <unk> <s> </s>, the 256 byte tokens, a few pieces.
std::unique_ptr<Tokenizer> tiny_spm() {
  TokenizerData d;
  d.model = "llama";
  d.tokens = {"<unk>", "<s>", "</s>"};
  d.types = {TokenType::Unknown, TokenType::Control, TokenType::Control};
  for (int b = 0; b < 256; ++b) {
    d.tokens.push_back(cat("<0x", std::uppercase, std::hex, b < 16 ? "0" : "", b, ">"));
    d.types.push_back(TokenType::Byte);
  }
  for (const char* p : {"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab"}) {
    d.tokens.push_back(p);
    d.types.push_back(TokenType::Normal);
  }
  d.scores.assign(d.tokens.size(), 0.0f);
  d.bos = 1, d.eos = 2, d.unk = 0;
  d.add_bos = d.add_space_prefix = true;
  return Tokenizer::create(std::move(d));
}

TEST(StreamDecoder, HoldsSplitCharactersUntilComplete) {
  auto tok = tiny_spm();
  auto ids = tok->encode("a\xC3\xA9\xF0\x9F\xA6\x99" "b", false, false);  // a é 🦙 b: é and 🦙 as byte tokens
  ASSERT_EQ(ids.size(), 8u) << show(ids);
  StreamDecoder dec(*tok);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(dec.feed(id));
  EXPECT_EQ(pieces, (std::vector<std::string>{" a", "", "\xC3\xA9", "", "", "", "\xF0\x9F\xA6\x99", "b"}));
  EXPECT_FALSE(dec.has_pending());
  EXPECT_EQ(dec.flush(), "");
}

TEST(StreamDecoder, FlushAndInvalidBytesGiveReplacementChar) {
  auto tok = tiny_spm();
  const int32_t byte0 = 3;  // <0x00>
  StreamDecoder dec(*tok);
  EXPECT_EQ(dec.feed(byte0 + 0xE2), "");
  EXPECT_TRUE(dec.has_pending());
  EXPECT_EQ(dec.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(dec.feed(byte0 + 0xFF), "\xEF\xBF\xBD");         // never valid in UTF-8
  EXPECT_EQ(dec.feed(byte0 + 0xC3), "");                     // lead byte ...
  EXPECT_EQ(dec.feed(byte0 + 'x'), "\xEF\xBF\xBD" "x");      // ... not continued
  EXPECT_EQ(dec.feed(1), "");                                // control tokens give no text
}

// --- Bad input -----------------------------------------------------------------------------

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TokenizerBadInput, MismatchedScores) {
  TokenizerData d;
  d.model = "llama";
  d.tokens = {"<unk>", "a", "b"};
  d.scores = {0.0f, -1.0f};
  auto msg = error_of([&] { Tokenizer::create(d); });
  EXPECT_NE(msg.find("scores has 2 entries but tokens has 3"), std::string::npos) << msg;
  d.scores.clear();
  d.types = {TokenType::Unknown};
  msg = error_of([&] { Tokenizer::create(d); });
  EXPECT_NE(msg.find("types has 1 entries"), std::string::npos) << msg;
}

TEST(TokenizerBadInput, UnknownModelAndPreTokenizer) {
  TokenizerData d;
  d.model = "gpt2";
  d.pre = "no-such-family";
  d.tokens = {"a", "b", "ab"};
  d.merges = {{"a", "b"}};
  auto msg = error_of([&] { Tokenizer::create(d); });
  EXPECT_NE(msg.find("unknown pre-tokenizer 'no-such-family'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gpt-2"), std::string::npos) << msg;  // lists the supported names
  d.pre = "gpt-2";
  EXPECT_EQ(Tokenizer::create(d)->encode("ab", false, false), (std::vector<int32_t>{2}));
  d.model = "unigram";
  msg = error_of([&] { Tokenizer::create(d); });
  EXPECT_NE(msg.find("unknown tokenizer model 'unigram'"), std::string::npos) << msg;
}

TEST(TokenizerBadInput, IdsOutOfRange) {
  auto tok = tiny_spm();
  const int32_t n = tok->vocab_size();
  EXPECT_NE(error_of([&] { tok->token_bytes(n); }).find(cat("token id ", n, " out of range")), std::string::npos);
  EXPECT_THROW(tok->piece(-1), Error);
  const int32_t bad[] = {4, -5};
  EXPECT_NE(error_of([&] { tok->decode(bad); }).find("token id -5 out of range"), std::string::npos);
  StreamDecoder dec(*tok);
  EXPECT_THROW(dec.feed(n + 7), Error);
  TokenizerData d = tok->data();
  d.bos = n;
  EXPECT_NE(error_of([&] { Tokenizer::create(d); }).find("bos token id"), std::string::npos);
}

}  // namespace
}  // namespace ds
