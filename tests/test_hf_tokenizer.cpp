// Hugging Face tokenizer files: a small byte-level BPE tokenizer.json written here (Llama-3 style: Split regex +
// ByteLevel, added tokens, TemplateProcessing BOS, ignore_merges) with its tokenizer_config.json, encoded by hand;
// the Qwen2 and GPT-2 forms; errors for what is not supported; and conformance: every byte-level vocabulary of
// ../shared/tokenizer-vectors exported to tokenizer.json form encodes the reference's vectors exactly as the GGUF does.
#include "distilscope/tokenizer.h"
#include "model/gguf.h"
#include "support/files.h"
#include "support/gpu.h"
#include "support/tokenizer_vectors.h"
#include "text/gguf_tokenizer.h"
#include "text/hf_tokenizer.h"
#include "text/pretokenize.h"
#include "util/atomic_file.h"

namespace ds {
namespace {

// ids: h e l o Ġ w r d 1 2 ! | he ll llo hello Ġw or Ġwor Ġworld ld | <|begin_of_text|> <|eot_id|> <tool>
const std::string k_llama3_json = R"({
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 20, "content": "<|begin_of_text|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 21, "content": "<|eot_id|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 22, "content": "<tool>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": false}
  ],
  "normalizer": null,
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false},
    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
  "post_processor": {"type": "Sequence", "processors": [
    {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
    {"type": "TemplateProcessing",
     "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
     "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
              {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
     "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [20], "tokens": ["<|begin_of_text|>"]}}}]},
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
    "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
    "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "\u0120": 4, "w": 5, "r": 6, "d": 7, "1": 8, "2": 9, "!": 10,
              "he": 11, "ll": 12, "llo": 13, "hello": 14, "\u0120w": 15, "or": 16, "\u0120wor": 17, "\u0120world": 18, "ld": 19},
    "merges": ["h e", "l l", "ll o", "he llo", "\u0120 w", "o r", "\u0120w or", "l d", "\u0120wor ld"]}
})";

const std::string k_config_json = R"({
  "bos_token": "<|begin_of_text|>",
  "eos_token": {"content": "<|eot_id|>", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false},
  "chat_template": "{% for m in messages %}{{ m.content }}<|eot_id|>{% endfor %}",
  "tokenizer_class": "PreTrainedTokenizerFast"
})";

TokenizerData parse(const std::string& tokenizer, const std::string* config = nullptr) {
  JsonDocument t{"tokenizer.json", parse_json(tokenizer, "tokenizer.json")};
  if (!config) return parse_hf_tokenizer(t, nullptr);
  JsonDocument c{"tokenizer_config.json", parse_json(*config, "tokenizer_config.json")};
  JsonRef cref(c);
  return parse_hf_tokenizer(t, &cref);
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(HfTokenizer, Llama3StyleFileEncodesAsWorkedOutByHand) {
  TokenizerData d = parse(k_llama3_json, &k_config_json);
  EXPECT_EQ(d.model, "gpt2");
  EXPECT_EQ(d.pre, "llama3");
  ASSERT_EQ(d.tokens.size(), 23u);
  EXPECT_EQ(d.tokens[4], "\xC4\xA0");  // Ġ
  EXPECT_EQ(d.types[20], TokenType::Control);
  EXPECT_EQ(d.types[22], TokenType::UserDefined);
  EXPECT_EQ(d.types[14], TokenType::Normal);
  EXPECT_EQ(d.merges.size(), 9u);
  EXPECT_EQ(d.bos, 20);
  EXPECT_EQ(d.eos, 21);
  EXPECT_TRUE(d.add_bos);  // from the TemplateProcessing post-processor
  EXPECT_NE(d.chat_template.find("<|eot_id|>"), std::string::npos);
  auto tok = Tokenizer::create(d);
  // "hello" is a vocabulary word (ignore_merges: taken whole); "hell" merges h+e, l+l; digits are split by
  // the regex into one word "12" that has no merge.
  EXPECT_EQ(tok->encode("hello world!", false, false), (std::vector<int32_t>{14, 18, 10}));
  EXPECT_EQ(tok->encode("hell world", false, false), (std::vector<int32_t>{11, 12, 18}));
  EXPECT_EQ(tok->encode("12", false, false), (std::vector<int32_t>{8, 9}));
  EXPECT_EQ(tok->encode("hello<|eot_id|>", true, true), (std::vector<int32_t>{20, 14, 21}));
  EXPECT_EQ(tok->encode("<tool>hello", false, false), (std::vector<int32_t>{22, 14}));
  EXPECT_EQ(tok->decode(std::vector<int32_t>{14, 18, 10}), "hello world!");
  EXPECT_TRUE(tok->is_end_of_generation(21));
}

TEST(HfTokenizer, MergesAsPairsAndConfigOverrides) {
  // Newer tokenizers write merges as ["a", "b"]; tokenizer_config.json's add_bos_token wins.
  std::string json = replaced(k_llama3_json, R"("merges": ["h e", "l l",)", R"("merges": [["h", "e"], ["l", "l"],)");
  std::string cfg = replaced(k_config_json, R"("tokenizer_class")", R"("add_bos_token": false, "tokenizer_class")");
  TokenizerData d = parse(json, &cfg);
  EXPECT_EQ(d.merges[0], (std::pair<std::string, std::string>{"h", "e"}));
  EXPECT_FALSE(d.add_bos);
  EXPECT_EQ(Tokenizer::create(d)->encode("hell", true, false), (std::vector<int32_t>{11, 12}));
  // Without ignore_merges the same regex names the dbrx rules (merges always applied).
  EXPECT_EQ(parse(replaced(k_llama3_json, R"("ignore_merges": true)", R"("ignore_merges": false)")).pre, "dbrx");
}

TEST(HfTokenizer, Qwen2AndGpt2Forms) {
  // Qwen2: single digits, an NFC normalizer (text is used as given, like the reference engine).
  std::string qwen = replaced(k_llama3_json, R"(\\p{N}{1,3})", R"(\\p{N})");
  qwen = replaced(qwen, R"("normalizer": null)", R"("normalizer": {"type": "NFC"})");
  qwen = replaced(qwen, R"("ignore_merges": true)", R"("ignore_merges": false)");
  EXPECT_EQ(parse(qwen).pre, "qwen2");
  // GPT-2: the ByteLevel pre-tokenizer splits with its own regex.
  std::string pre_begin = R"("pre_tokenizer": {"type": "Sequence")";
  const size_t a = k_llama3_json.find(pre_begin), b = k_llama3_json.find(R"("post_processor")");
  std::string gpt2 = k_llama3_json.substr(0, a) +
                     R"("pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  )" + k_llama3_json.substr(b);
  gpt2 = replaced(gpt2, R"("ignore_merges": true)", R"("ignore_merges": false)");
  TokenizerData d = parse(gpt2);
  EXPECT_EQ(d.pre, "gpt-2");
  EXPECT_EQ(Tokenizer::create(d)->encode("hell world", false, false), (std::vector<int32_t>{11, 12, 18}));
}

TEST(HfTokenizer, UnsupportedFormsAreClearErrors) {
  EXPECT_ERROR(parse(replaced(k_llama3_json, R"("byte_fallback": false)", R"("byte_fallback": true)")),
               "tokenizer.json: key 'model.byte_fallback' is true: a SentencePiece-style BPE, not supported yet");
  EXPECT_ERROR(parse(replaced(k_llama3_json, R"("type": "BPE")", R"("type": "WordPiece")")),
               "key 'model.type' is \"WordPiece\"; only BPE tokenizers are supported");
  EXPECT_ERROR(parse(replaced(k_llama3_json, R"(\\p{N}{1,3})", R"(\\p{N}{1,4})")),
               "key 'pre_tokenizer' splits by 1 regex(es) that match no known rule set");
  EXPECT_ERROR(parse(replaced(k_llama3_json, R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false})",
                              R"({"type": "Metaspace", "replacement": "_"})")),
               "Metaspace is SentencePiece-style, not supported yet");
  EXPECT_ERROR(parse(replaced(k_llama3_json, R"("normalizer": null)", R"("normalizer": {"type": "Lowercase"})")),
               "key 'normalizer.type' is \"Lowercase\"; supported normalizers: none, NFC");
  std::string cfg = replaced(k_config_json, R"("bos_token": "<|begin_of_text|>")", R"("bos_token": "<s>")");
  EXPECT_ERROR(parse(k_llama3_json, &cfg), "tokenizer_config.json: key 'bos_token' names \"<s>\", which is not in the vocabulary");
  EXPECT_ERROR(parse(replaced(k_llama3_json, R"("ld": 19)", R"("ld": 18)")), "key 'model.vocab.ld' repeats id 18");
}

TEST(HfTokenizer, WritesWhatItReads) {
  TokenizerData d = parse(k_llama3_json, &k_config_json);
  const std::string json = hf_tokenizer_json(d), cfg = hf_tokenizer_config_json(d);
  TokenizerData back = parse(json, &cfg);
  EXPECT_EQ(back.tokens, d.tokens);
  EXPECT_EQ(back.types, d.types);
  EXPECT_EQ(back.merges, d.merges);
  EXPECT_EQ(back.pre, d.pre);
  EXPECT_EQ(back.bos, d.bos);
  EXPECT_EQ(back.eos, d.eos);
  EXPECT_EQ(back.add_bos, d.add_bos);
  EXPECT_EQ(back.chat_template, d.chat_template);
  d.model = "llama";
  EXPECT_ERROR(hf_tokenizer_json(d), "only byte-level BPE vocabularies (gpt2) can be written as tokenizer.json");
}

// Byte-level vocabularies of the shared vectors, through tokenizer.json: the reference's ids, and the same ids as
// the GGUF tokenizer for every input (with and without special handling).
class ExportedVocab : public testing::TestWithParam<std::string> {};

TEST_P(ExportedVocab, EncodesLikeTheGguf) {
  DS_REQUIRE_SHARED("tokenizer-vectors/ggml-vocab-" + GetParam() + ".gguf", path);
  GgufFile f(path.string());
  TokenizerData from_gguf = tokenizer_data_from_gguf(f);
  test::TempDir dir;
  write_file_atomic(dir / "tokenizer.json", hf_tokenizer_json(from_gguf));
  write_file_atomic(dir / "tokenizer_config.json", hf_tokenizer_config_json(from_gguf));
  TokenizerData from_json = read_hf_tokenizer(dir / "tokenizer.json", dir / "tokenizer_config.json");
  EXPECT_EQ(text::PreTokenizer::regexes_of(from_json.pre), text::PreTokenizer::regexes_of(from_gguf.pre));
  auto a = Tokenizer::create(from_gguf), b = Tokenizer::create(from_json);
  ASSERT_EQ(a->vocab_size(), b->vocab_size());
  size_t same = 0, reference = 0;
  auto cases = test::read_vectors(path);
  for (const auto& c : cases) {
    auto ids = b->encode(c.input, false, false);
    same += ids == a->encode(c.input, false, false) && b->encode(c.input, true, true) == a->encode(c.input, true, true);
    reference += ids == c.expected;
  }
  EXPECT_EQ(same, cases.size());
  EXPECT_EQ(reference, cases.size());
  std::cout << "[ vectors  ] " << GetParam() << " via tokenizer.json " << reference << "/" << cases.size() << "\n";
}

INSTANTIATE_TEST_SUITE_P(Vocab, ExportedVocab,
                         testing::Values("gpt-2", "mpt", "falcon", "starcoder", "refact", "deepseek-llm", "deepseek-coder"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace ds
