// tokenizer.json / tokenizer_config.json reading and writing (see hf_tokenizer.h).
#include "text/hf_tokenizer.h"

#include <map>

#include "text/pretokenize.h"
#include "util/error.h"
#include "util/json.h"

namespace ds {

namespace {

constexpr int64_t k_max_vocab = 1 << 24;

// A token given as "text" or {"content": "text", ...} (tokenizer_config.json's AddedToken form); "" for null.
std::string token_text(const JsonRef& r) {
  if (r.is_null()) return "";
  if (r.is_string()) return r.as_string();
  return r.get("content").as_string();
}

// The pre-tokenizer: Split regexes in order (+ GPT-2's when ByteLevel splits too); checks the rest.
std::vector<std::string> split_regexes(const JsonRef& pre) {
  std::vector<std::string> out;
  bool byte_level = false;
  auto one = [&](const JsonRef& p) {
    const std::string& type = p.get("type").as_string();
    if (type == "Split") {
      JsonRef pattern = p.get("pattern");
      if (pattern.has("Regex")) {
        out.push_back(pattern.get("Regex").as_string());
      } else {
        pattern.fail_here("is a plain string pattern; only {\"Regex\": ...} splits are supported");
      }
      const std::string behavior = p.string_or("behavior", "Isolated");
      if (behavior != "Isolated") p.get("behavior").fail_here(cat("is \"", behavior, "\"; only Isolated is supported"));
      if (p.bool_or("invert", false)) p.get("invert").fail_here("is true; inverted splits are not supported");
    } else if (type == "ByteLevel") {
      if (p.bool_or("add_prefix_space", false)) p.get("add_prefix_space").fail_here("is true; not supported");
      if (p.bool_or("use_regex", true)) out.push_back(text::PreTokenizer::regexes_of("gpt-2")[0]);
      byte_level = true;
    } else {
      p.get("type").fail_here(cat("is \"", type, "\"; supported pre-tokenizers: Split (regex), ByteLevel",
                                  type == "Metaspace" ? " (Metaspace is SentencePiece-style, not supported yet)" : ""));
    }
  };
  if (pre.is_null()) pre.fail_here("is null; byte-level BPE needs a ByteLevel pre-tokenizer");
  if (pre.get("type").as_string() == "Sequence") {
    JsonRef list = pre.get("pretokenizers");
    for (size_t i = 0; i < list.size(); ++i) one(list.at(i));
  } else {
    one(pre);
  }
  if (!byte_level) pre.fail_here("has no ByteLevel step; only byte-level BPE tokenizers are supported");
  return out;
}

void check_normalizer(const JsonRef& root) {
  auto n = root.opt("normalizer");
  if (!n) return;
  auto one = [](const JsonRef& x) {
    const std::string& type = x.get("type").as_string();
    // NFC: the reference engine does not normalize either; text that is already NFC (nearly all) is unaffected.
    if (type != "NFC") x.get("type").fail_here(cat("is \"", type, "\"; supported normalizers: none, NFC"));
  };
  if (n->get("type").as_string() == "Sequence") {
    JsonRef list = n->get("normalizers");
    for (size_t i = 0; i < list.size(); ++i) one(list.at(i));
  } else {
    one(*n);
  }
}

void check_decoder(const JsonRef& root) {
  auto d = root.opt("decoder");
  if (!d) return;
  auto one = [](const JsonRef& x) {
    const std::string& type = x.get("type").as_string();
    if (type != "ByteLevel") x.get("type").fail_here(cat("is \"", type, "\"; byte-level BPE decodes with ByteLevel"));
  };
  if (d->get("type").as_string() == "Sequence") {
    JsonRef list = d->get("decoders");
    for (size_t i = 0; i < list.size(); ++i) one(list.at(i));
  } else {
    one(*d);
  }
}

// The token that TemplateProcessing puts before the first sequence, or "".
std::string template_bos(const JsonRef& post) {
  const std::string& type = post.get("type").as_string();
  if (type == "Sequence") {
    JsonRef list = post.get("processors");
    for (size_t i = 0; i < list.size(); ++i)
      if (auto t = template_bos(list.at(i)); !t.empty()) return t;
    return "";
  }
  if (type != "TemplateProcessing") return "";
  JsonRef single = post.get("single");
  if (single.size() == 0 || !single.at(0).has("SpecialToken")) return "";
  return single.at(0).get("SpecialToken").get("id").as_string();
}

}  // namespace

TokenizerData parse_hf_tokenizer(const JsonRef& root, const JsonRef* config) {
  TokenizerData d;
  d.model = "gpt2";
  JsonRef model = root.get("model");
  const std::string& type = model.string_or("type", "BPE");
  if (type != "BPE") model.get("type").fail_here(cat("is \"", type, "\"; only BPE tokenizers are supported"));
  if (model.bool_or("byte_fallback", false))
    model.get("byte_fallback").fail_here("is true: a SentencePiece-style BPE, not supported yet (byte-level BPE is)");
  check_normalizer(root);
  check_decoder(root);
  const bool ignore_merges = model.bool_or("ignore_merges", false);
  const std::vector<std::string> regexes = split_regexes(root.get("pre_tokenizer"));
  d.pre = text::PreTokenizer::name_for(regexes, ignore_merges);
  if (d.pre.empty()) d.pre = text::PreTokenizer::name_for(regexes, !ignore_merges);
  if (d.pre.empty()) {
    std::string list;
    for (auto& r : regexes) list += (list.empty() ? "" : "  then  ") + r;
    root.get("pre_tokenizer").fail_here(cat("splits by ", regexes.size(), " regex(es) that match no known rule set (",
                                            text::PreTokenizer::supported_names(), "): ", list));
  }

  // Vocabulary and added tokens; ids may leave gaps (filled with unused placeholders).
  std::map<int64_t, std::pair<std::string, TokenType>> by_id;
  JsonRef vocab = model.get("vocab");
  for (auto& [text, id] : vocab.members()) {
    const int64_t i = id.as_int(0, k_max_vocab - 1);
    if (!by_id.emplace(i, std::pair{std::string(text), TokenType::Normal}).second)
      id.fail_here(cat("repeats id ", i));
  }
  if (auto added = root.opt("added_tokens")) {
    for (size_t k = 0; k < added->size(); ++k) {
      JsonRef a = added->at(k);
      const int64_t i = a.get("id").as_int(0, k_max_vocab - 1);
      by_id[i] = {a.get("content").as_string(), a.bool_or("special", false) ? TokenType::Control : TokenType::UserDefined};
    }
  }
  if (by_id.empty()) vocab.fail_here("is empty");
  const int64_t n = by_id.rbegin()->first + 1;
  d.tokens.resize(size_t(n));
  d.types.assign(size_t(n), TokenType::Unused);
  for (int64_t i = 0; i < n; ++i) d.tokens[size_t(i)] = cat("[PAD", i, "]");
  for (auto& [i, tt] : by_id) {
    d.tokens[size_t(i)] = tt.first;
    d.types[size_t(i)] = tt.second;
  }
  std::map<std::string, int32_t, std::less<>> id_of;
  for (size_t i = 0; i < d.tokens.size(); ++i) id_of.emplace(d.tokens[i], int32_t(i));

  JsonRef merges = model.get("merges");
  d.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    JsonRef m = merges.at(i);
    if (m.is_array()) {
      if (m.size() != 2) m.fail_here(cat("has ", m.size(), " parts, expected 2"));
      d.merges.emplace_back(m.at(0).as_string(), m.at(1).as_string());
    } else {
      const std::string& s = m.as_string();
      const size_t space = s.size() > 1 ? s.find(' ', 1) : std::string::npos;
      if (space == std::string::npos) m.fail_here(cat("is \"", s, "\", not two tokens separated by a space"));
      d.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    }
  }

  // Special tokens: tokenizer_config.json first, then tokenizer.json's own hints.
  auto lookup = [&](const std::string& text, const JsonRef& where) -> int32_t {
    if (text.empty()) return -1;
    auto it = id_of.find(text);
    if (it == id_of.end()) where.fail_here(cat("names \"", text, "\", which is not in the vocabulary"));
    return it->second;
  };
  if (auto unk = model.opt("unk_token")) d.unk = lookup(unk->as_string(), *unk);
  std::string bos_from_template;
  if (auto post = root.opt("post_processor")) bos_from_template = template_bos(*post);
  if (!bos_from_template.empty()) {
    d.bos = lookup(bos_from_template, root.get("post_processor"));
    d.add_bos = true;
  }
  if (config) {
    const JsonRef& c = *config;
    auto special = [&](const char* key, int32_t& id) {
      if (auto v = c.opt(key)) id = lookup(token_text(*v), *v);
    };
    special("bos_token", d.bos);
    special("eos_token", d.eos);
    special("unk_token", d.unk);
    special("pad_token", d.pad);
    if (c.has("add_bos_token")) d.add_bos = c.bool_or("add_bos_token", d.add_bos);
    if (c.has("add_eos_token")) d.add_eos = c.bool_or("add_eos_token", d.add_eos);
    if (auto t = c.opt("chat_template")) {
      if (t->is_string()) {
        d.chat_template = t->as_string();
      } else {  // [{"name": "default", "template": "..."}, ...]
        for (size_t i = 0; i < t->size(); ++i)
          if (i == 0 || t->at(i).string_or("name", "") == "default") d.chat_template = t->at(i).get("template").as_string();
      }
    }
  }
  d.add_bos = d.add_bos && d.bos >= 0;
  d.add_eos = d.add_eos && d.eos >= 0;
  return d;
}

TokenizerData read_hf_tokenizer(const std::string& tokenizer_path, const std::string& config_path) {
  JsonDocument tok = read_json_file(tokenizer_path);
  if (config_path.empty()) return parse_hf_tokenizer(tok, nullptr);
  JsonDocument cfg = read_json_file(config_path);
  JsonRef cref(cfg);
  return parse_hf_tokenizer(tok, &cref);
}

std::string hf_tokenizer_json(const TokenizerData& d) {
  DS_CHECK(d.model == "gpt2", "[tokenizer] only byte-level BPE vocabularies (gpt2) can be written as tokenizer.json; this one is '",
           d.model, "'");
  auto type = [&](size_t i) { return d.types.empty() ? TokenType::Normal : d.types[i]; };
  auto added = [&](size_t i) { return type(i) == TokenType::Control || type(i) == TokenType::UserDefined; };
  const std::string pre = d.pre.empty() ? "default" : d.pre;
  JsonWriter w;
  w.begin_object().field("version", "1.0").key("truncation").null().key("padding").null();
  w.key("added_tokens").begin_array();
  for (size_t i = 0; i < d.tokens.size(); ++i) {
    if (!added(i)) continue;
    w.begin_object().field("id", int64_t(i)).field("content", std::string_view(d.tokens[i]));
    w.field("single_word", false).field("lstrip", false).field("rstrip", false).field("normalized", false);
    w.field("special", type(i) == TokenType::Control).end_object();
  }
  w.end_array();
  w.key("normalizer").null();
  w.key("pre_tokenizer").begin_object().field("type", "Sequence").key("pretokenizers").begin_array();
  for (const std::string& r : text::PreTokenizer::regexes_of(pre)) {
    w.begin_object().field("type", "Split").key("pattern").begin_object().field("Regex", std::string_view(r)).end_object();
    w.field("behavior", "Isolated").field("invert", false).end_object();
  }
  w.begin_object().field("type", "ByteLevel").field("add_prefix_space", false).field("trim_offsets", true);
  w.field("use_regex", false).end_object();
  w.end_array().end_object();
  w.key("post_processor").begin_object();
  if (d.add_bos && d.bos >= 0) {
    const std::string_view bos = d.tokens[size_t(d.bos)];
    w.field("type", "TemplateProcessing");
    for (const char* key : {"single", "pair"}) {
      w.key(key).begin_array();
      w.begin_object().key("SpecialToken").begin_object().field("id", bos).field("type_id", 0).end_object().end_object();
      w.begin_object().key("Sequence").begin_object().field("id", "A").field("type_id", 0).end_object().end_object();
      if (std::string_view(key) == "pair")
        w.begin_object().key("Sequence").begin_object().field("id", "B").field("type_id", 1).end_object().end_object();
      w.end_array();
    }
    w.key("special_tokens").begin_object().key(bos).begin_object().field("id", bos);
    w.key("ids").begin_array().value(int64_t(d.bos)).end_array();
    w.key("tokens").begin_array().value(bos).end_array().end_object().end_object();
  } else {
    w.field("type", "ByteLevel").field("add_prefix_space", false).field("trim_offsets", false).field("use_regex", false);
  }
  w.end_object();
  w.key("decoder").begin_object().field("type", "ByteLevel").field("add_prefix_space", false);
  w.field("trim_offsets", true).field("use_regex", false).end_object();
  w.key("model").begin_object().field("type", "BPE").key("dropout").null();
  w.key("unk_token");
  if (d.unk >= 0) w.value(std::string_view(d.tokens[size_t(d.unk)]));
  else w.null();
  w.key("continuing_subword_prefix").null().key("end_of_word_suffix").null();
  w.field("fuse_unk", false).field("byte_fallback", false).field("ignore_merges", text::PreTokenizer::ignore_merges_of(pre));
  w.key("vocab").begin_object();
  for (size_t i = 0; i < d.tokens.size(); ++i)
    if (!added(i)) w.field(d.tokens[i], int64_t(i));
  w.end_object();
  w.key("merges").begin_array();
  for (auto& [a, b] : d.merges) w.begin_array().value(std::string_view(a)).value(std::string_view(b)).end_array();
  w.end_array();
  w.end_object().end_object();
  return w.str() + "\n";
}

std::string hf_tokenizer_config_json(const TokenizerData& d) {
  JsonWriter w;
  w.begin_object().field("tokenizer_class", "PreTrainedTokenizerFast");
  w.field("add_bos_token", d.add_bos).field("add_eos_token", d.add_eos);
  auto token = [&](const char* key, int32_t id) {
    w.key(key);
    if (id >= 0 && size_t(id) < d.tokens.size()) w.value(std::string_view(d.tokens[size_t(id)]));
    else w.null();
  };
  token("bos_token", d.bos);
  token("eos_token", d.eos);
  token("unk_token", d.unk);
  token("pad_token", d.pad);
  if (!d.chat_template.empty()) w.field("chat_template", std::string_view(d.chat_template));
  w.end_object();
  return w.str() + "\n";
}

}  // namespace ds
