// The Hugging Face form of ModelSource: config.json + safetensors (single or sharded) + tokenizer files.
// Weights keep their bytes; names and shapes are mapped to the engine's (docs/formats.md, "Tensor names").
#include <filesystem>

#include "model/hf_config.h"
#include "model/hf_names.h"
#include "model/llama_config.h"
#include "model/model_source.h"
#include "model/safetensors.h"
#include "text/hf_tokenizer.h"
#include "util/error.h"

namespace ds {

namespace {

class HfSource : public ModelSource {
 public:
  explicit HfSource(const std::string& dir) : ModelSource(Format::HuggingFace, dir), files_(find_hf_model_files(dir)) {
    config_doc_ = read_json_file(files_.config);
    config_ = parse_hf_config(config_doc_);
    if (config_.name.empty()) config_.name = std::filesystem::path(dir).lexically_normal().filename().string();
    weights_ = std::make_unique<SafetensorsDir>(dir);
    for (const auto& f : weights_->files()) file_bytes_ += f->file_size();
    for (const std::string& hf : weights_->names()) {
      auto name = hf_to_gguf_name(hf);
      if (!name) continue;  // not a weight the engine knows (e.g. rotary_emb.inv_freq)
      const SafetensorsTensor& st = weights_->tensor(hf);
      add(*name, hf, st, st.type && *st.type != DType::I32 ? weights_->data(hf) : std::span<const uint8_t>{});
    }
    split_folded_dt_in_proj();
    check_dtypes();
    check_model_tensors(cat("[hf] ", dir, ": config.json disagrees with the weights"), config_,
                        [&](const std::string& n) { return find(n); }, [&](const std::string& n) { return label(n); });
    if (!files_.tokenizer.empty()) {
      tokenizer_ = read_hf_tokenizer(files_.tokenizer, files_.tokenizer_config);
      tokenizer_model = tokenizer_.model;
      tokenizer_pre = tokenizer_.pre;
      tokenizer_tokens = int(tokenizer_.tokens.size());
    }
  }

  std::span<const uint8_t> data(const GgufTensorInfo& t) const override {
    const Entry& e = entries_.at(size_t(t.offset));
    if (!dtype_info(t.ggml_type)) fail("[hf] ", path_, ": tensor ", e.hf_name, " has dtype ", e.dtype, ", which cannot be loaded");
    return e.bytes;
  }
  std::string label(const std::string& name) const override {
    const GgufTensorInfo* t = find(name);
    if (t) return cat(entries_.at(size_t(t->offset)).hf_name, " (", name, ")");
    auto hf = gguf_to_hf_name(name);
    return hf ? cat(*hf, " (", name, ")") : name;
  }
  bool has_tokenizer() const override { return !files_.tokenizer.empty(); }
  TokenizerData tokenizer_data() const override {
    if (files_.tokenizer.empty())
      fail("[hf] ", path_, ": no tokenizer.json (DistilScope reads byte-level BPE tokenizers from it)");
    return tokenizer_;
  }
  const JsonValue* hf_config() const override { return &config_doc_.root; }
  std::string hf_file(const char* name) const override {
    std::error_code ec;
    auto p = std::filesystem::path(path_) / name;
    return std::filesystem::is_regular_file(p, ec) ? p.string() : "";
  }

 private:
  struct Entry {
    std::string hf_name, dtype;
    std::span<const uint8_t> bytes;
  };

  // t.offset indexes entries_ (the bytes and the checkpoint's own name).
  void add(const std::string& name, const std::string& hf_name, const SafetensorsTensor& st, std::span<const uint8_t> bytes) {
    GgufTensorInfo t;
    t.name = name;
    t.ne = st.ggml_ne();
    const bool usable = st.type && *st.type != DType::I32;
    t.type = usable ? *st.type : DType::F32;
    t.ggml_type = usable ? uint32_t(*st.type) : 0xFFFFu;
    t.n_bytes = st.n_bytes();
    t.offset = entries_.size();
    entries_.push_back({hf_name, st.dtype, bytes});
    tensors_.push_back(std::move(t));
  }

  // The older Apriel layout (apriel_15b_hybrid/modeling_ssm_hybrid_apriel15b.py) has no dt_in_proj: in_proj
  // has dt_rank more rows [z | x | B | C | dt]. Its rows are contiguous, so the two parts are views.
  void split_folded_dt_in_proj() {
    const HybridConfig& h = config_.hybrid;
    const uint64_t zxbc = uint64_t(2 * h.d_inner + 2 * h.d_xb), rank = uint64_t(h.dt_rank);
    for (int l = 0; l < config_.n_layers; ++l) {
      if (config_.layer_kind(l) != LayerKind::Mamba) continue;
      const std::string p = cat("blk.", l, ".");
      if (find(p + "ssm_dt_in.weight")) continue;
      for (const char* part : {"weight", "bias"}) {
        GgufTensorInfo* in = mutable_find(p + "ssm_in." + part);
        const bool weight = std::string(part) == "weight";
        if (!in || !dtype_info(in->ggml_type) || in->ne.back() != zxbc + rank || in->ne.size() != (weight ? 2u : 1u)) continue;
        const uint64_t row_bytes = weight ? dtype_bytes(in->type, in->ne[0]) : dtype_bytes(in->type, 1);
        Entry whole = entries_.at(size_t(in->offset));
        GgufTensorInfo dt_in = *in;
        in->ne.back() = zxbc;
        in->n_bytes = row_bytes * zxbc;
        entries_.at(size_t(in->offset)).bytes = whole.bytes.subspan(0, in->n_bytes);
        entries_.at(size_t(in->offset)).hf_name = cat(whole.hf_name, " rows 0..", zxbc - 1);
        dt_in.name = p + "ssm_dt_in." + part;
        dt_in.ne.back() = rank;
        dt_in.n_bytes = row_bytes * rank;
        dt_in.offset = entries_.size();
        entries_.push_back({cat(whole.hf_name, " rows ", zxbc, "..", zxbc + rank - 1, " (dt_in_proj folded in)"), whole.dtype,
                            whole.bytes.subspan(size_t(in->n_bytes), size_t(dt_in.n_bytes))});
        tensors_.push_back(std::move(dt_in));
      }
    }
  }

  GgufTensorInfo* mutable_find(const std::string& name) {
    for (auto& t : tensors_)
      if (t.name == name) return &t;
    return nullptr;
  }

  void check_dtypes() const {
    for (const auto& spec : llama_tensor_specs(config_)) {
      const GgufTensorInfo* t = find(spec.name);
      if (t && !dtype_info(t->ggml_type))
        fail("[hf] ", path_, ": tensor ", entries_.at(size_t(t->offset)).hf_name, " has dtype ",
             entries_.at(size_t(t->offset)).dtype, "; weights must be F32, F16 or BF16");
    }
  }

  HfModelFiles files_;
  JsonDocument config_doc_;
  std::unique_ptr<SafetensorsDir> weights_;
  std::vector<Entry> entries_;
  TokenizerData tokenizer_;
};

}  // namespace

std::unique_ptr<ModelSource> open_hf_source(const std::string& dir) { return std::make_unique<HfSource>(dir); }

}  // namespace ds
