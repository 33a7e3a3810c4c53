// GGUF tokenizer metadata -> TokenizerData, and Tokenizer::from_gguf (see gguf_tokenizer.h).
#include "text/gguf_tokenizer.h"

#include <cmath>

#include "text/pretokenize.h"
#include "util/error.h"

namespace ds {

namespace {

constexpr const char* k_prefix = "tokenizer.ggml.";

std::string key(const char* name) { return std::string(k_prefix) + name; }

// A special token id from the file; ids past the vocabulary (GGUF writes 0xFFFFFFFF for "none")
// mean none. Without the key, `fallback` (the family default) when it fits the vocabulary.
int32_t read_id(const GgufFile& f, const char* name, int32_t fallback, size_t n_tokens) {
  auto v = f.opt_uint(key(name));
  if (!v) return fallback >= 0 && size_t(fallback) < n_tokens ? fallback : -1;
  return *v < n_tokens ? int32_t(*v) : -1;
}

bool read_bool(const GgufFile& f, const char* name, bool fallback) {
  return f.has(key(name)) ? f.get_bool(key(name)) : fallback;
}

}  // namespace

TokenizerData tokenizer_data_from_gguf(const GgufFile& f) {
  TokenizerData d;
  if (!f.has(key("model"))) fail("[tokenizer] ", f.path(), ": no tokenizer in the file (", key("model"), " missing)");
  d.model = f.get_string(key("model"));
  d.pre = f.opt_string(key("pre")).value_or("default");
  d.tokens = f.get_str_array(key("tokens"));
  const size_t n = d.tokens.size();

  if (f.has(key("scores")))
    for (double s : f.get_num_array(key("scores"))) d.scores.push_back(float(s));
  if (f.has(key("token_type")))
    for (double t : f.get_num_array(key("token_type"))) {
      DS_CHECK(t >= 0 && t <= 6 && t == std::floor(t), "[tokenizer] ", f.path(), ": ", key("token_type"),
               " holds ", t, " (GGUF token types are 0..6)");
      d.types.push_back(TokenType(int32_t(t)));
    }
  if (f.has(key("merges"))) {
    const auto& merges = f.get_str_array(key("merges"));
    d.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const std::string& m = merges[i];
      size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;  // a merge may start with ' '
      DS_CHECK(space != std::string::npos, "[tokenizer] ", f.path(), ": merge ", i, " '", m,
               "' is not two tokens separated by a space");
      d.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
    }
  }

  // Family defaults, as the reference engine applies them when the file is silent.
  int32_t bos = -1, eos = -1, unk = -1, sep = -1, pad = -1;
  if (d.model == "llama") {
    bos = 1, eos = 2, unk = 0;
    d.add_bos = true;
    d.add_space_prefix = true;
  } else if (d.model == "bert") {
    bos = 101, unk = 100, sep = 102, pad = 0;  // bos = [CLS]
    d.add_bos = true;
  } else if (d.model == "gpt2") {
    d.add_bos = text::PreTokenizer::default_add_bos(d.pre);
  }
  d.bos = read_id(f, "bos_token_id", bos, n);
  d.eos = read_id(f, "eos_token_id", eos, n);
  d.eot = read_id(f, "eot_token_id", -1, n);
  d.unk = read_id(f, "unknown_token_id", unk, n);
  d.sep = read_id(f, "seperator_token_id", sep, n);  // sic: the key as GGUF spells it
  d.pad = read_id(f, "padding_token_id", pad, n);
  d.add_bos = read_bool(f, "add_bos_token", d.add_bos) && d.bos >= 0;
  d.add_eos = read_bool(f, "add_eos_token", d.add_eos) && d.eos >= 0;
  d.add_space_prefix = read_bool(f, "add_space_prefix", d.add_space_prefix);
  d.chat_template = f.opt_string("tokenizer.chat_template").value_or("");
  return d;
}

void write_tokenizer_gguf(GgufWriter& w, const TokenizerData& d) {
  w.set_string(key("model"), d.model);
  w.set_string(key("pre"), d.pre);
  w.set_str_array(key("tokens"), d.tokens);
  if (!d.scores.empty()) w.set_f32_array(key("scores"), d.scores);
  if (!d.types.empty()) {
    std::vector<int32_t> types;
    for (TokenType t : d.types) types.push_back(int32_t(t));
    w.set_i32_array(key("token_type"), types);
  }
  if (!d.merges.empty()) {
    std::vector<std::string> merges;
    merges.reserve(d.merges.size());
    for (const auto& [left, right] : d.merges) merges.push_back(left + " " + right);
    w.set_str_array(key("merges"), std::move(merges));
  }
  const std::pair<const char*, int32_t> ids[] = {{"bos_token_id", d.bos},     {"eos_token_id", d.eos},
                                                 {"eot_token_id", d.eot},     {"unknown_token_id", d.unk},
                                                 {"seperator_token_id", d.sep}, {"padding_token_id", d.pad}};
  for (const auto& [name, id] : ids) w.set_u32(key(name), id >= 0 ? uint32_t(id) : 0xFFFFFFFFu);  // ~0: none
  w.set_bool(key("add_bos_token"), d.add_bos);
  w.set_bool(key("add_eos_token"), d.add_eos);
  w.set_bool(key("add_space_prefix"), d.add_space_prefix);
  if (!d.chat_template.empty()) w.set_string("tokenizer.chat_template", d.chat_template);
}

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
  TokenizerData data = tokenizer_data_from_gguf(file);
  try {
    return create(std::move(data));
  } catch (const Error& e) {
    fail(e.what(), " (in ", file.path(), ")");
  }
}

}  // namespace ds
