// Tokenizer: picks the algorithm for the vocabulary, splits special tokens out of the text, adds
// BOS/EOS, and turns ids back into bytes. The algorithms live in spm.cpp and bpe.cpp.
#include "distilscope/tokenizer.h"

#include "text/pretokenize.h"
#include "text/special_tokens.h"
#include "text/vocab.h"
#include "util/error.h"

namespace ds {

struct Tokenizer::Impl {
  text::Vocab vocab;
  std::unique_ptr<text::TextModel> model;
  std::vector<int32_t> specials_all;   // control, unknown, user-defined; longest text first
  std::vector<int32_t> specials_user;  // user-defined only (matched even without parse_special)
  std::vector<bool> end_of_generation;

  explicit Impl(TokenizerData data) : vocab(std::move(data)) {}
};

namespace {

// Control-token texts that end a turn in the common chat formats.
constexpr std::string_view k_end_texts[] = {
    "</s>",          "<|eot_id|>",       "<|im_end|>",     "<|end|>",
    "<|endoftext|>", "<|end_of_text|>",  "<end_of_turn>",  "<|eom_id|>",
    "<EOT>",         "<|EOT|>",          "<|return|>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",  // DeepSeek <｜end▁of▁sentence｜>
};

std::vector<bool> end_of_generation_set(const text::Vocab& v) {
  std::vector<bool> eog(size_t(v.size()), false);
  for (int32_t id : {v.data().eos, v.data().eot})
    if (id >= 0) eog[size_t(id)] = true;
  for (int32_t id = 0; id < v.size(); ++id)
    if (v.type(id) == TokenType::Control)
      for (auto t : k_end_texts)
        if (v.text(id) == t) eog[size_t(id)] = true;
  return eog;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::create(TokenizerData data) {
  if (data.model == "bert")
    fail("[tokenizer] WordPiece vocabularies (tokenizer.ggml.model = 'bert') are not supported; "
         "supported models: llama (SentencePiece-style), gpt2 (byte-level BPE)");
  if (data.model != "llama" && data.model != "gpt2")
    fail("[tokenizer] unknown tokenizer model '", data.model,
         "'; supported models: llama (SentencePiece-style), gpt2 (byte-level BPE)");
  if (data.pre.empty()) data.pre = "default";

  auto impl = std::make_unique<Impl>(std::move(data));
  const text::Vocab& v = impl->vocab;
  impl->model = v.data().model == "llama" ? text::make_spm_model(v) : text::make_bpe_model(v);
  const TokenType all[] = {TokenType::Control, TokenType::Unknown, TokenType::UserDefined};
  const TokenType user[] = {TokenType::UserDefined};
  impl->specials_all = text::special_tokens_longest_first(v, all);
  impl->specials_user = text::special_tokens_longest_first(v, user);
  impl->end_of_generation = end_of_generation_set(v);
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const TokenizerData& d = impl_->vocab.data();
  std::vector<int32_t> out;
  if (add_special && d.add_bos) out.push_back(d.bos);
  const auto& specials = parse_special ? impl_->specials_all : impl_->specials_user;
  bool at_start = true;  // SPM puts its space prefix at the start and after each special token
  for (const text::Fragment& f : text::split_special_tokens(text, specials, impl_->vocab)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      at_start = true;
    } else {
      impl_->model->encode(f.text, at_start, out);
      at_start = false;
    }
  }
  if (add_special && d.add_eos) out.push_back(d.eos);
  return out;
}

std::string Tokenizer::token_bytes(int32_t id) const {
  const text::Vocab& v = impl_->vocab;
  v.check_id(id);
  switch (v.type(id)) {
    case TokenType::Normal:
    case TokenType::Undefined:
      return impl_->model->normal_token_bytes(id);
    case TokenType::Byte: {
      int b = text::Vocab::byte_token_value(v.text(id));
      return b >= 0 ? std::string(1, char(b)) : impl_->model->normal_token_bytes(id);
    }
    case TokenType::UserDefined:
      return v.text(id);
    case TokenType::Control:
    case TokenType::Unknown:
    case TokenType::Unused:
      break;
  }
  return {};
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  // Only SPM puts a space in front of the text (BPE vocabularies may carry the flag unused).
  bool strip_space = impl_->vocab.data().add_space_prefix && model() == "llama";
  for (int32_t id : ids) {
    std::string bytes = token_bytes(id);
    if (strip_space && !bytes.empty()) {
      if (bytes[0] == ' ') bytes.erase(0, 1);
      strip_space = false;
    }
    out += bytes;
  }
  return out;
}

int32_t Tokenizer::bos() const { return impl_->vocab.data().bos; }
int32_t Tokenizer::eos() const { return impl_->vocab.data().eos; }
int32_t Tokenizer::eot() const { return impl_->vocab.data().eot; }
int32_t Tokenizer::unk() const { return impl_->vocab.data().unk; }

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return id >= 0 && id < impl_->vocab.size() && impl_->end_of_generation[size_t(id)];
}

int Tokenizer::vocab_size() const { return impl_->vocab.size(); }
std::string_view Tokenizer::model() const { return impl_->vocab.data().model; }
std::string_view Tokenizer::pre() const { return impl_->vocab.data().pre; }
bool Tokenizer::add_bos() const { return impl_->vocab.data().add_bos; }
bool Tokenizer::add_eos() const { return impl_->vocab.data().add_eos; }

std::string_view Tokenizer::piece(int32_t id) const {
  impl_->vocab.check_id(id);
  return impl_->vocab.text(id);
}

TokenType Tokenizer::type(int32_t id) const {
  impl_->vocab.check_id(id);
  return impl_->vocab.type(id);
}

const TokenizerData& Tokenizer::data() const { return impl_->vocab.data(); }

}  // namespace ds
