// Per-token analysis of a run: teacher-student divergence (per token and per layer) and blobs
// (attention rows, activation statistics) compressed losslessly on put, restored exactly on get.
#include "store/codec.h"
#include "store/impl.h"
#include "util/error.h"

namespace ds {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += cat(i ? "," : "", shape[i]);
  return s + "]";
}

std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> shape;
  DS_CHECK(text.size() >= 2 && text.front() == '[' && text.back() == ']', "[store] bad blob shape \"", text, "\"");
  std::string inner = text.substr(1, text.size() - 2);
  size_t at = 0;
  while (at < inner.size()) {
    size_t comma = inner.find(',', at);
    if (comma == std::string::npos) comma = inner.size();
    shape.push_back(std::stoll(inner.substr(at, comma - at)));
    at = comma + 1;
  }
  return shape;
}

std::string describe(const BlobKey& k) {
  return cat(k.kind, " (run ", k.run_id, ", token ", k.index, ", layer ", k.layer, ", head ", k.head, ")");
}

constexpr const char* kBlobInfoSelect =
    "SELECT run_id, idx, layer, head, kind, dtype, shape, raw_bytes, length(data), codec FROM blobs ";

BlobInfo read_blob_info(const store::Stmt& s) {
  BlobInfo b;
  b.key = {s.i64(0), s.i32(1), s.i32(2), s.i32(3), s.text(4)};
  b.type = parse_blob_type(s.text(5));
  b.shape = parse_shape(s.text(6));
  b.raw_bytes = s.i64(7);
  b.stored_bytes = s.i64(8);
  b.codec = s.text(9);
  return b;
}

}  // namespace

void Store::append_divergence(const Divergence& d) {
  impl_->use()
      .prepare(
          "INSERT INTO divergence (run_id, idx, kl, reverse_kl, top1_agree, topk_overlap, teacher_entropy, "
          "student_entropy) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(d.run_id, d.index, d.kl, d.reverse_kl, d.top1_agree, d.topk_overlap, d.teacher_entropy,
                d.student_entropy)
      .run();
}

std::vector<Divergence> Store::list_divergence(int64_t run_id) {
  store::Stmt s = impl_->use().prepare(
      "SELECT run_id, idx, kl, reverse_kl, top1_agree, topk_overlap, teacher_entropy, student_entropy "
      "FROM divergence WHERE run_id = ? ORDER BY idx");
  s.bind(0, run_id);
  std::vector<Divergence> out;
  while (s.step())
    out.push_back({s.i64(0), s.i32(1), s.f64(2), s.f64(3), s.i64(4) != 0, s.f64(5), s.f64(6), s.f64(7)});
  return out;
}

void Store::append_layer_divergence(const LayerDivergence& d) {
  impl_->use()
      .prepare(
          "INSERT INTO layer_divergence (run_id, idx, layer, residual_cosine, attention_js) VALUES (?, ?, ?, ?, ?)")
      .bind_all(d.run_id, d.index, d.layer, d.residual_cosine, d.attention_js)
      .run();
}

std::vector<LayerDivergence> Store::list_layer_divergence(int64_t run_id) {
  store::Stmt s = impl_->use().prepare(
      "SELECT run_id, idx, layer, residual_cosine, attention_js FROM layer_divergence "
      "WHERE run_id = ? ORDER BY idx, layer");
  s.bind(0, run_id);
  std::vector<LayerDivergence> out;
  while (s.step()) out.push_back({s.i64(0), s.i32(1), s.i32(2), s.f64(3), s.opt_f64(4)});
  return out;
}

void Store::put_blob(const Blob& b) {
  int64_t elements = 1;
  for (int64_t n : b.shape) elements *= n;
  size_t es = element_size(b.type);
  DS_CHECK(size_t(elements) * es == b.bytes.size(), "[store] blob ", describe(b.key), ": shape ",
           shape_text(b.shape), " of ", to_string(b.type), " needs ", size_t(elements) * es, " bytes, got ",
           b.bytes.size());
  DS_CHECK(!b.key.kind.empty(), "[store] blob of run ", b.key.run_id, " has no kind");
  store::Encoded e = store::encode_blob(b.bytes, es);
  impl_->use()
      .prepare(
          "INSERT OR REPLACE INTO blobs (run_id, idx, layer, head, kind, dtype, shape, codec, raw_bytes, data) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(b.key.run_id, b.key.index, b.key.layer, b.key.head, b.key.kind, to_string(b.type),
                shape_text(b.shape), e.codec, int64_t(b.bytes.size()), std::span<const uint8_t>(e.data))
      .run();
}

std::optional<Blob> Store::get_blob(const BlobKey& key) {
  store::Stmt s = impl_->use().prepare(
      "SELECT dtype, shape, codec, raw_bytes, data FROM blobs "
      "WHERE run_id = ? AND idx = ? AND layer = ? AND head = ? AND kind = ?");
  s.bind_all(key.run_id, key.index, key.layer, key.head, key.kind);
  if (!s.step()) return std::nullopt;
  Blob b;
  b.key = key;
  b.type = parse_blob_type(s.text(0));
  b.shape = parse_shape(s.text(1));
  b.bytes = store::decode_blob(s.text(2), s.blob(4), element_size(b.type), size_t(s.i64(3)), describe(key));
  return b;
}

std::vector<BlobInfo> Store::list_blobs(int64_t run_id) {
  store::Stmt s = impl_->use().prepare(std::string(kBlobInfoSelect) +
                                       "WHERE run_id = ? ORDER BY idx, layer, head, kind");
  s.bind(0, run_id);
  std::vector<BlobInfo> out;
  while (s.step()) out.push_back(read_blob_info(s));
  return out;
}

}  // namespace ds
