// GGUF and HF directory writers over a ModelSource plus overrides (see model_writer.h).
#include "model/model_writer.h"

#include <filesystem>

#include "model/gguf.h"
#include "model/hf_config.h"
#include "model/hf_names.h"
#include "model/hybrid_config.h"
#include "model/llama_config.h"
#include "model/safetensors.h"
#include "text/gguf_tokenizer.h"
#include "text/hf_tokenizer.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace ds {

namespace fs = std::filesystem;

std::vector<uint32_t> hf_row_of_gguf(int n_heads, int head_dim) {
  std::vector<uint32_t> rows(size_t(n_heads) * head_dim);
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h)
    for (int i = 0; i < half; ++i)
      for (int j = 0; j < 2; ++j) rows[size_t(h) * head_dim + 2 * i + j] = uint32_t(h * head_dim + j * half + i);
  return rows;
}

namespace {

enum class Reorder { None, ToGguf, ToHf };

bool gguf_interleaves(const std::string& arch) { return arch == "llama" || arch == "mistral" || arch == k_arch_apriel_hybrid; }

// Row order out[r] = in[order[r]] for the q/k-like tensors of `name` (attn_q/attn_k weights and biases, the
// linear mixer's feature maps along head_dim), or empty when the tensor keeps its rows.
std::vector<uint32_t> row_order(const ModelConfig& c, const std::string& name, Reorder how) {
  if (how == Reorder::None) return {};
  const auto dot = name.find('.', 4);
  const std::string kind = dot == std::string::npos ? "" : name.substr(dot + 1);
  int heads = 0;
  if (kind == "attn_q.weight" || kind == "attn_q.bias") heads = c.n_heads;
  if (kind == "attn_k.weight" || kind == "attn_k.bias") heads = c.n_kv_heads;
  if (kind == "lin_fm_q") heads = c.hybrid.linear.query_maps;
  if (kind == "lin_fm_k") heads = c.hybrid.linear.key_maps;
  if (!heads) return {};
  std::vector<uint32_t> to_gguf = hf_row_of_gguf(heads, c.head_dim);
  if (how == Reorder::ToGguf) return to_gguf;
  std::vector<uint32_t> to_hf(to_gguf.size());
  for (size_t r = 0; r < to_gguf.size(); ++r) to_hf[to_gguf[r]] = uint32_t(r);
  return to_hf;
}

void reorder_rows(const uint8_t* in, uint8_t* out, uint64_t total_bytes, const std::vector<uint32_t>& order) {
  const uint64_t row = total_bytes / order.size();
  for (size_t r = 0; r < order.size(); ++r) std::memcpy(out + r * row, in + uint64_t(order[r]) * row, row);
}

// The bytes of tensor `name` (GGUF ne), as `to`, rows reordered by `order` (empty: as they are).
void produce(const ModelSource& src, const TensorOverrides& ov, const std::string& name, DType to,
             const std::vector<uint32_t>& order, std::span<uint8_t> out) {
  std::vector<uint8_t> tmp;
  DType from;
  std::span<const uint8_t> bytes;
  uint64_t n = 0;
  if (auto it = ov.find(name); it != ov.end()) {
    from = DType::F32;
    bytes = {reinterpret_cast<const uint8_t*>(it->second.data.data()), it->second.data.size() * 4};
    n = it->second.data.size();
  } else {
    const GgufTensorInfo& t = src.tensor(name);
    from = t.type;
    bytes = src.data(t);
    n = t.n_elements();
  }
  if (!order.empty()) {
    tmp.resize(bytes.size());
    reorder_rows(bytes.data(), tmp.data(), bytes.size(), order);
    bytes = tmp;
  }
  DS_CHECK(out.size() == dtype_bytes(to, n), "[write] tensor ", name, ": ", n, " values do not fill ", out.size(),
           " bytes of ", dtype_name(to));
  convert_type(from, bytes.data(), to, out.data(), n);
}

bool plain(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

// The type new (F32) matrices get when the output keeps types: the source's usual matrix type.
DType usual_matrix_type(const ModelSource& src) {
  const GgufTensorInfo* t = src.find("token_embd.weight");
  return t && plain(t->type) ? t->type : DType::F16;
}

std::vector<uint64_t> ne_of(const ModelSource& src, const TensorOverrides& ov, const TensorSpec& spec) {
  if (auto it = ov.find(spec.name); it != ov.end()) {
    std::vector<uint64_t> ne;
    for (int64_t d : it->second.ne) ne.push_back(uint64_t(d));
    while (ne.size() > spec.ne.size() && ne.back() == 1) ne.pop_back();
    return ne;
  }
  const GgufTensorInfo* t = src.find(spec.name);
  return t ? t->ne : spec.ne;
}

void write_gguf_metadata(GgufWriter& w, const ModelSource& src, const ModelConfig& c) {
  const std::string arch = c.arch == k_arch_apriel_hybrid ? "mistral" : c.arch;
  DS_CHECK(is_llama_family(arch), "[write] cannot write architecture '", c.arch, "' as GGUF (llama, mistral, qwen2)");
  ModelConfig as_written = c;  // an Apriel-H1 hybrid is written as its Mistral-style base
  as_written.arch = arch;
  write_llama_config(w, as_written);
  write_hybrid_gguf(w, c);
  if (const GgufFile* f = src.gguf()) {  // the tokenizer keys as they are
    for (const std::string& key : f->key_order())
      if (key.rfind("tokenizer.", 0) == 0) w.set(key, *f->find(key));
  } else if (src.has_tokenizer()) {
    write_tokenizer_gguf(w, src.tokenizer_data());
  }
}

}  // namespace

void write_gguf_model(const ModelSource& src, const ModelConfig& config, const TensorOverrides& ov,
                      const std::string& path, const GgufWriteOptions& opts) {
  check_hybrid_config(config, path);
  const bool src_interleaved = src.config().rope.style == RopeStyle::Interleaved;
  const bool out_interleaved = gguf_interleaves(config.arch);
  const Reorder how = src_interleaved == out_interleaved ? Reorder::None : out_interleaved ? Reorder::ToGguf : Reorder::ToHf;
  GgufWriter w;
  write_gguf_metadata(w, src, config);
  std::vector<TensorSpec> specs = llama_tensor_specs(config);
  if (src.find("rope_freqs.weight")) specs.push_back({"rope_freqs.weight", src.find("rope_freqs.weight")->ne, false, false});
  for (const TensorSpec& spec : specs) {
    if (!ov.count(spec.name) && !src.find(spec.name)) {
      DS_CHECK(spec.optional, "[write] ", path, ": tensor ", spec.name, " is in neither the source nor the new tensors");
      continue;
    }
    const std::vector<uint64_t> ne = ne_of(src, ov, spec);
    DType to = DType::F32;
    if (spec.matrix) {
      const GgufTensorInfo* t = ov.count(spec.name) ? nullptr : src.find(spec.name);
      to = opts.matrix_type ? *opts.matrix_type : t ? t->type : usual_matrix_type(src);
      if (ne[0] % dtype_block_elems(to) != 0) to = DType::F16;  // rows too short for quantized blocks
    }
    std::vector<uint32_t> order = row_order(config, spec.name, how);
    w.add_tensor_deferred(spec.name, to, ne, [&src, &ov, name = spec.name, to, order](std::span<uint8_t> out) {
      produce(src, ov, name, to, order, out);
    });
  }
  w.write(path);
}

std::vector<std::string> write_hf_model(const ModelSource& src, const ModelConfig& config, const TensorOverrides& ov,
                                        const std::string& dir, uint64_t max_shard_bytes) {
  DS_CHECK(config.hybrid.count(LayerKind::Linear) == 0, "[write] ", dir, ": linear mixer layers have no Hugging Face ",
           "(Apriel) form; write the student as GGUF");
  const std::string config_json = hf_config_to_json(config, src.hf_config());  // checks the form first
  const bool src_interleaved = src.config().rope.style == RopeStyle::Interleaved;
  const Reorder how = src_interleaved ? Reorder::ToHf : Reorder::None;
  std::map<std::string, bool> is_matrix;
  for (const auto& spec : llama_tensor_specs(config)) is_matrix[spec.name] = spec.matrix;
  SafetensorsWriter st;
  for (const HfTensorSpec& spec : hf_tensor_specs(config)) {
    const std::string& name = spec.gguf_name;
    const GgufTensorInfo* t = ov.count(name) ? nullptr : src.find(name);
    if (!t && !ov.count(name)) fail("[write] ", dir, ": tensor ", name, " is in neither the source nor the new tensors");
    DType to = DType::F32;
    if (is_matrix[name]) to = t ? (plain(t->type) ? t->type : DType::F16) : usual_matrix_type(src);
    std::vector<uint32_t> order = row_order(config, name, how);
    st.add_deferred(spec.hf_name, to, spec.shape, [&src, &ov, name, to, order](std::span<uint8_t> out) {
      produce(src, ov, name, to, order, out);
    });
  }
  st.write_dir(dir, max_shard_bytes);
  write_file_atomic((fs::path(dir) / "config.json").string(), config_json);

  std::vector<std::string> notes;
  std::error_code ec;
  if (src.format() == ModelSource::Format::HuggingFace) {
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"}) {
      const std::string from = src.hf_file(f);
      if (!from.empty() && fs::absolute(from) != fs::absolute(fs::path(dir) / f))
        fs::copy_file(from, fs::path(dir) / f, fs::copy_options::overwrite_existing, ec);
      if (ec) fail("[write] ", dir, ": cannot copy ", f, ": ", ec.message());
    }
  } else if (src.has_tokenizer()) {
    TokenizerData tok = src.tokenizer_data();
    if (tok.model == "gpt2") {
      write_file_atomic((fs::path(dir) / "tokenizer.json").string(), hf_tokenizer_json(tok));
      write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), hf_tokenizer_config_json(tok));
    } else {
      notes.push_back(cat("tokenizer not written: the ", tok.model,
                          " (SentencePiece-style) vocabulary has no tokenizer.json export yet; copy the teacher's tokenizer files"));
    }
  } else {
    notes.push_back("tokenizer not written: the source has none");
  }
  return notes;
}

}  // namespace ds
