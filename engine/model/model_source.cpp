// ModelSource: opening either form, the GGUF form, and what both share (lookup, F32 reads).
#include "model/model_source.h"

#include <filesystem>

#include "model/hf_config.h"
#include "model/llama_config.h"
#include "text/gguf_tokenizer.h"
#include "util/error.h"

namespace ds {

namespace {

class GgufSource : public ModelSource {
 public:
  explicit GgufSource(const std::string& path) : ModelSource(Format::Gguf, path), file_(path) {
    config_ = read_llama_config(file_);
    file_bytes_ = file_.file_size();
    tensors_ = file_.tensors();
    tokenizer_model = file_.opt_string("tokenizer.ggml.model").value_or("");
    tokenizer_pre = file_.opt_string("tokenizer.ggml.pre").value_or("");
    if (file_.has("tokenizer.ggml.tokens")) tokenizer_tokens = int(file_.get_str_array("tokenizer.ggml.tokens").size());
  }
  std::span<const uint8_t> data(const GgufTensorInfo& t) const override { return file_.data(t); }
  bool has_tokenizer() const override { return file_.has("tokenizer.ggml.model"); }
  TokenizerData tokenizer_data() const override { return tokenizer_data_from_gguf(file_); }
  const GgufFile* gguf() const override { return &file_; }

 private:
  GgufFile file_;
};

}  // namespace

ModelSource::~ModelSource() = default;

std::unique_ptr<ModelSource> open_gguf_source(const std::string& path) { return std::make_unique<GgufSource>(path); }

std::unique_ptr<ModelSource> ModelSource::open(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    if (!is_hf_model_dir(path))
      fail(path, ": a directory without config.json (expected a GGUF file or a Hugging Face model directory)");
    return open_hf_source(path);
  }
  return open_gguf_source(path);
}

const GgufTensorInfo* ModelSource::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const GgufTensorInfo& ModelSource::tensor(const std::string& name) const {
  const GgufTensorInfo* t = find(name);
  if (!t) fail(path_, ": tensor ", label(name), " is missing");
  return *t;
}

std::vector<float> ModelSource::read_f32(const std::string& name) const {
  const GgufTensorInfo& t = tensor(name);
  auto bytes = data(t);
  std::vector<float> v(t.n_elements());
  to_f32(t.type, bytes.data(), v.data(), v.size());
  return v;
}

std::string ModelSource::hf_file(const char*) const { return ""; }

}  // namespace ds
