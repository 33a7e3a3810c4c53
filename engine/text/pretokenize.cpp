// Pre-tokenizer rule sets per model family (the split regexes from each family's tokenizer.json)
// and the splitting itself with PCRE2. Non-ASCII characters in patterns are written as \x{...}
// so that no editor or tool can silently normalize them.
#include "text/pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "text/unicode.h"
#include "util/error.h"

namespace ds::text {

namespace {

// --- Regexes -------------------------------------------------------------------------------

// GPT-2 (also MPT, OLMo, ...): contractions, letters, numbers, other symbols, whitespace.
constexpr const char* k_gpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Llama 3: case-insensitive contractions, a letter run with one leading non-letter, up to three
// digits, symbol runs with trailing newlines, newline runs.
constexpr const char* k_llama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen 2: as Llama 3 but single digits.
constexpr const char* k_qwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// DeepSeek LLM: newlines, cased-letter words (the explicit class from its tokenizer.json),
// ASCII/fullwidth punctuation runs, trailing whitespace, CJK/Hangul runs, number runs.
constexpr const char* k_deepseek_llm_letters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
    R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A})"
    R"(\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556})"
    R"(\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF})"
    R"(\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})"
    R"(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D})"
    R"(\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3})"
    R"(\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107})"
    R"(\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D})"
    R"(\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184})"
    R"(\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D})"
    R"(\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF})"
    R"(\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F})"
    R"(\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF})"
    R"(\x{1E900}-\x{1E943}]+)";
constexpr const char* k_deepseek_llm_punct =
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)";
constexpr const char* k_cjk_hangul = R"([\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

// DeepSeek V3: digit triples, CJK/kana runs, then a punctuation/letter/mark word rule.
constexpr const char* k_deepseek3_words =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+)"
    R"(| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// BLOOM / Poro: everything up to whitespace or sentence punctuation.
constexpr const char* k_bloom =
    R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{964}\x{6D4}\x{60C})]+)";

// Mistral Tekken and GPT-4o: case-aware words.
constexpr const char* k_tekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)"
    R"(|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* k_gpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct Rules {
  std::vector<std::string_view> names;
  std::vector<const char*> regexes;
  bool ignore_merges = false;
  bool add_bos = false;
};

const std::vector<Rules>& rule_table() {
  static const std::vector<Rules> table = {
      // The reference engine's fallback for files without a name: punctuation runs, GPT-2 words,
      // numbers, digit triples.
      {{"default"}, {R"([\p{P}\$\+<=>\^~\|]+)", k_gpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}},
      {{"gpt-2", "gpt2", "phi-2", "mpt", "olmo", "gpt-neox", "jais", "roberta-bpe", "exaone4"}, {k_gpt2}},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3"}, {k_llama3}, true, true},
      {{"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"}, {k_llama3}},
      {{"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan"}, {k_qwen2}},
      {{"deepseek-llm"},
       {"[\r\n]", k_deepseek_llm_letters, k_deepseek_llm_punct, R"(\s+$)", k_cjk_hangul, R"(\p{N}+)"}},
      {{"deepseek-coder"}, {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", k_cjk_hangul, R"(\p{N})"}},
      {{"deepseek-v3"},
       {R"(\p{N}{1,3})", R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)", k_deepseek3_words}},
      {{"falcon"}, {R"([\p{P}\$\+<=>\^~\|`]+)", k_gpt2, "[0-9][0-9][0-9]"}},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
       {R"(\p{N})", k_gpt2}},
      {{"bloom", "poro-chat", "gpt3-finnish"}, {k_bloom}},
      {{"viking"}, {k_bloom, R"(\p{N})"}},
      {{"tekken"}, {k_tekken}, true, true},
      {{"gpt-4o", "llama4"}, {k_gpt4o}},
  };
  return table;
}

const Rules* find_rules(std::string_view name) {
  for (const auto& r : rule_table())
    if (std::find(r.names.begin(), r.names.end(), name) != r.names.end()) return &r;
  return nullptr;
}

struct Piece {
  size_t begin, len;
  bool valid_utf8;  // invalid bytes are kept as single-byte pieces the regexes skip
};

// Cuts text into maximal runs of valid UTF-8 and single invalid bytes.
std::vector<Piece> utf8_runs(std::string_view text) {
  std::vector<Piece> out;
  size_t run = 0, i = 0;
  while (i < text.size()) {
    size_t n = utf8_valid_len(text, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > run) out.push_back({run, i - run, true});
    out.push_back({i, 1, false});
    run = ++i;
  }
  if (i > run) out.push_back({run, i - run, true});
  return out;
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

PreTokenizer::PreTokenizer(std::string_view name) {
  const Rules* rules = find_rules(name);
  if (!rules)
    fail("[tokenizer] unknown pre-tokenizer '", name, "' (tokenizer.ggml.pre); supported: ", supported_names());
  ignore_merges_ = rules->ignore_merges;
  for (const char* pattern : rules->regexes) {
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    auto re = std::make_unique<Regex>();
    re->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                             PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &err_offset, nullptr);
    if (!re->code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      fail("[tokenizer] pre-tokenizer '", name, "': regex does not compile at offset ", err_offset, ": ",
           reinterpret_cast<const char*>(msg));
    }
    pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back to the interpreter
    regexes_.push_back(std::move(re));
  }
}

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<Piece> pieces = utf8_runs(text);
  for (const auto& re : regexes_) {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
        pcre2_match_data_create_from_pattern(re->code, nullptr), &pcre2_match_data_free);
    std::vector<Piece> next;
    for (const Piece& p : pieces) {
      if (!p.valid_utf8) {
        next.push_back(p);
        continue;
      }
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + p.begin);
      size_t pos = 0, done = 0;  // search position; end of what is already emitted
      while (pos < p.len) {
        int rc = pcre2_match(re->code, subject, p.len, pos, PCRE2_NO_UTF_CHECK, md.get(), nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) fail("[tokenizer] pre-tokenizer regex failed with PCRE2 error ", rc);
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
        size_t m_begin = ov[0], m_end = ov[1];
        if (m_end == m_begin) {  // empty match: no cut here, move one character on
          pos = m_begin + utf8_lead_len(uint8_t(text[p.begin + m_begin]));
          continue;
        }
        if (m_begin > done) next.push_back({p.begin + done, m_begin - done, true});
        next.push_back({p.begin + m_begin, m_end - m_begin, true});
        done = pos = m_end;
      }
      if (done < p.len) next.push_back({p.begin + done, p.len - done, true});
    }
    pieces = std::move(next);
  }
  std::vector<std::string_view> words;
  words.reserve(pieces.size());
  for (const Piece& p : pieces) words.push_back(text.substr(p.begin, p.len));
  return words;
}

bool PreTokenizer::is_supported(std::string_view name) { return find_rules(name) != nullptr; }

std::string PreTokenizer::supported_names() {
  std::string s;
  for (const auto& r : rule_table())
    for (auto n : r.names) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

bool PreTokenizer::default_add_bos(std::string_view name) {
  const Rules* r = find_rules(name);
  return r && r->add_bos;
}

std::vector<std::string> PreTokenizer::regexes_of(std::string_view name) {
  const Rules* r = find_rules(name);
  if (!r) fail("[tokenizer] unknown pre-tokenizer '", name, "'; supported: ", supported_names());
  return {r->regexes.begin(), r->regexes.end()};
}

bool PreTokenizer::ignore_merges_of(std::string_view name) {
  const Rules* r = find_rules(name);
  return r && r->ignore_merges;
}

std::string PreTokenizer::name_for(const std::vector<std::string>& regexes, bool ignore_merges) {
  for (const auto& r : rule_table()) {
    if (r.ignore_merges != ignore_merges || r.regexes.size() != regexes.size()) continue;
    if (std::equal(regexes.begin(), regexes.end(), r.regexes.begin())) return std::string(r.names[0]);
  }
  return "";
}

}  // namespace ds::text
