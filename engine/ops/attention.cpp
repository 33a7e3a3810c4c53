// Attention dispatch: kv_store (shaders/kv_store.comp), decode split-K (attention_decode.comp +
// attention_combine.comp) and prefill (attention_prefill.comp, or attention_prefill_coopmat.comp on tensor
// cores where the device has them); tile sizes chosen here per head_dim.
#include "ops/attention.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

constexpr uint32_t k_decode_threads = 128;  // = keys per tile of the decode kernel
constexpr uint32_t k_max_chunks = 128;      // split-K chunks per head at most (longer contexts: bigger chunks)
constexpr uint32_t k_max_qpw = 8;           // query heads sharing one decode workgroup
constexpr uint32_t k_combine_threads = 256;
constexpr uint32_t k_prefill_threads = 128;
// Fewer tokens than this: the scalar prefill kernel by default (exact F32; little work to gain on, and short
// prompts then match decode as closely as before). DS_ATTN_PREFILL=coopmat ignores it.
constexpr int64_t k_coopmat_prefill_min_tokens = 64;

uint32_t chunk_keys(int64_t n_ctx) {
  const int64_t tiles = div_up(n_ctx, k_decode_threads);
  return k_decode_threads * div_up(tiles, k_max_chunks);
}

uint32_t n_chunks(int64_t n_ctx) { return div_up(n_ctx, chunk_keys(n_ctx)); }

// Largest power of two <= limit that divides n.
uint32_t pow2_divisor(uint32_t n, uint32_t limit) {
  uint32_t d = 1;
  while (d * 2 <= limit && n % (d * 2) == 0) d *= 2;
  return d;
}

struct Shape {
  int64_t head_dim, n_heads, n_tokens, n_ctx, n_kv;
};

Shape check_shapes(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& step, const Tensor& out) {
  check_type("attention", q, DType::F32);
  if (out.type != DType::F16 || q.ne[2] == 1) check_type("attention", out, DType::F32);  // F16: prefill only
  check_type("attention", k, DType::F16);
  check_type("attention", v, DType::F16);
  check_type("attention", step, DType::I32);
  check_same_shape("attention", q, out);
  check_same_shape("attention", k, v);
  Shape s{q.ne[0], q.ne[1], q.ne[2], k.ne[1], k.ne[2]};
  DS_CHECK(q.ne[3] == 1 && k.ne[3] == 1, "[attention] ", q.name, " is ", q.shape_str(), " and ", k.name, " is ",
           k.shape_str(), ", expected [head_dim, n_heads, n_tokens] and [head_dim, n_ctx, n_kv]");
  DS_CHECK(k.ne[0] == s.head_dim, "[attention] ", q.name, " has head_dim ", s.head_dim, " but ", k.name, " has ",
           k.ne[0]);
  DS_CHECK(s.head_dim % 4 == 0 && s.head_dim >= 4 && s.head_dim <= 256, "[attention] head_dim ", s.head_dim,
           " unsupported (a multiple of 4 in [4, 256])");
  DS_CHECK(s.n_heads % s.n_kv == 0, "[attention] ", s.n_heads, " query heads is not a multiple of ", s.n_kv,
           " kv heads (", k.name, ")");
  DS_CHECK(s.n_tokens <= s.n_ctx, "[attention] ", s.n_tokens, " tokens do not fit the cache of ", s.n_ctx);
  DS_CHECK(step.n_elements() >= 1, "[attention] step tensor ", step.name, " is empty");
  return s;
}

void combine_partials(vk::Recorder& rec, const Tensor& scratch, const Tensor& step, const Tensor& out,
                      const push::AttentionPush& pc, uint32_t head_dim) {
  auto& c = rec.device().pipeline("attention_combine", 3, sizeof pc, {k_combine_threads, head_dim, k_max_chunks});
  rec.dispatch(c, {scratch.buf, step.buf, out.buf}, 0b100, &pc, pc.n_heads, 1, 1, "attention_combine");
}

void decode(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& step, float scale,
            const Tensor& out, const Tensor& scratch, const Shape& s, bool combine) {
  Device& dev = rec.device();
  const uint32_t group = uint32_t(s.n_heads / s.n_kv);
  uint32_t qpw = std::min(group, k_max_qpw);
  while (group % qpw) --qpw;
  const uint32_t np = uint32_t(s.head_dim / 4);
  const uint32_t ksplit = pow2_divisor(np, std::min(4u, dev.subgroup_size()));
  push::AttentionPush pc{uint32_t(s.n_heads), uint32_t(s.n_kv), uint32_t(s.n_ctx), 1, scale,
                         chunk_keys(s.n_ctx), n_chunks(s.n_ctx), 0};
  const size_t need = attention_scratch_elems(int(s.n_heads), int(s.head_dim), int(s.n_ctx), 1);
  if (need) {
    DS_CHECK(scratch, "[attention] decode over ", s.n_ctx, " positions needs a scratch tensor of ", need,
             " F32 (attention_scratch_elems)");
    check_type("attention", scratch, DType::F32);
    DS_CHECK(size_t(scratch.n_elements()) >= need, "[attention] scratch ", scratch.name, " has ",
             scratch.n_elements(), " F32, decode needs ", need);
  }
  const Tensor& dst = need ? scratch : out;
  auto& p = dev.pipeline("attention_decode", 5, sizeof pc, {k_decode_threads, uint32_t(s.head_dim), qpw, ksplit});
  rec.dispatch(p, {q.buf, k.buf, v.buf, step.buf, dst.buf}, 0b10000, &pc, pc.n_chunks,
               uint32_t(s.n_kv) * (group / qpw), 1, "attention_decode");
  if (need && combine) combine_partials(rec, scratch, step, out, pc, uint32_t(s.head_dim));
}

// Shared memory of attention_prefill_coopmat.comp: Q (64 rows) and K, V (32 keys) tiles of head_dim + 8 halves
// per row, S (64 x 36 F32), P (64 x 40 halves); the emulated twin adds 128 floats of lane exchange.
uint32_t coopmat_prefill_shared_bytes(uint32_t head_dim, bool emulated) {
  return (64 + 2 * 32) * (head_dim + 8) * 2 + 64 * 36 * 4 + 64 * 40 * 2 + (emulated ? 128 * 4 : 0);
}

// Why the tensor-core prefill kernel (or its emulated twin) cannot run here; empty when it can.
std::string coopmat_prefill_unfit(const Device& dev, int64_t head_dim, bool emulated) {
  if (!emulated && !dev.has_coopmat_nv()) return "the device offers no VK_NV_cooperative_matrix (tensor cores)";
  if (!emulated && dev.subgroup_size() != 32)
    return "its subgroups are " + std::to_string(dev.subgroup_size()) + " wide, the kernel needs 32";
  if (head_dim % 16 != 0) return "head_dim " + std::to_string(head_dim) + " is not a multiple of 16";
  const uint32_t need = coopmat_prefill_shared_bytes(uint32_t(head_dim), emulated);
  const uint32_t have = dev.props().limits.maxComputeSharedMemorySize;
  if (need > have)
    return "head_dim " + std::to_string(head_dim) + " needs " + std::to_string(need) +
           " bytes of shared memory, the device has " + std::to_string(have);
  return {};
}

void prefill_coopmat(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& step,
                     float scale, const Tensor& out, const Shape& s, const char* kernel) {
  // Heads per workgroup: the largest of 4, 2, 1 dividing the GQA group, so the 64 rows share one kv head.
  const uint32_t heads = pow2_divisor(uint32_t(s.n_heads / s.n_kv), 4);
  const uint32_t tokens = 64 / heads;
  push::AttentionPush pc{uint32_t(s.n_heads), uint32_t(s.n_kv), uint32_t(s.n_ctx), uint32_t(s.n_tokens), scale,
                         0, 0, 0};
  const std::string name = std::string(kernel) + (out.type == DType::F16 ? "_f16" : "");
  auto& p = rec.device().pipeline(name, 5, sizeof pc, {uint32_t(s.head_dim), tokens});
  rec.dispatch(p, {q.buf, k.buf, v.buf, step.buf, out.buf}, 0b10000, &pc, div_up(s.n_tokens, tokens),
               uint32_t(s.n_heads) / heads, 1, name.c_str());
}

void prefill(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& step, float scale,
             const Tensor& out, const Shape& s) {
  Device& dev = rec.device();
  const char* kernel = attention_prefill_kernel(dev, s.head_dim, s.n_tokens);
  if (std::string(kernel) != "attention_prefill") return prefill_coopmat(rec, q, k, v, step, scale, out, s, kernel);
  // Query rows and keys per tile: Q (F32) and K, V (F16) tiles fit 32 KiB of shared memory.
  const uint32_t hd = uint32_t(s.head_dim);
  const uint32_t bq = hd <= 64 ? 32 : hd <= 128 ? 16 : 8;
  const uint32_t bk = hd <= 32 ? 64 : hd <= 128 ? 32 : 16;
  const uint32_t tpr = k_prefill_threads / bq;
  const uint32_t sm_lanes = std::min({tpr, dev.subgroup_size(), bk});
  const uint32_t np = hd / 4;
  const size_t shared = bq * (np + 1) * 16 + bk * (np + 1) * 8 + bk * np * 8 + bq * bk * 4 + bq * 8;
  DS_CHECK(shared <= dev.props().limits.maxComputeSharedMemorySize, "[attention] prefill tiles for head_dim ", hd,
           " need ", shared, " bytes of shared memory, device has ", dev.props().limits.maxComputeSharedMemorySize);
  push::AttentionPush pc{uint32_t(s.n_heads), uint32_t(s.n_kv), uint32_t(s.n_ctx), uint32_t(s.n_tokens), scale, 0, 0, 0};
  const char* name = out.type == DType::F16 ? "attention_prefill_f16" : "attention_prefill";
  auto& p = dev.pipeline(name, 5, sizeof pc, {k_prefill_threads, hd, bq, bk, sm_lanes});
  rec.dispatch(p, {q.buf, k.buf, v.buf, step.buf, out.buf}, 0b10000, &pc, div_up(s.n_tokens, bq),
               uint32_t(s.n_heads), 1, name);
}

}  // namespace

const char* attention_prefill_kernel(const Device& dev, int64_t head_dim, int64_t n_tokens) {
  const char* env = std::getenv("DS_ATTN_PREFILL");
  const std::string forced = env ? env : "";
  if (forced.empty())
    return n_tokens >= k_coopmat_prefill_min_tokens && coopmat_prefill_unfit(dev, head_dim, false).empty()
               ? "attention_prefill_coopmat"
               : "attention_prefill";
  if (forced == "scalar") return "attention_prefill";
  DS_CHECK(forced == "coopmat" || forced == "emulated", "[attention] DS_ATTN_PREFILL=", forced,
           " unknown (scalar, coopmat or emulated)");
  const bool emulated = forced == "emulated";
  const std::string why = coopmat_prefill_unfit(dev, head_dim, emulated);
  DS_CHECK(why.empty(), "[attention] DS_ATTN_PREFILL=", forced, ": the tensor-core prefill kernel cannot run on ",
           dev.info().name, ": ", why);
  return emulated ? "attention_prefill_coopmat_emulated" : "attention_prefill_coopmat";
}

void kv_store(vk::Recorder& rec, const Tensor& src, const Tensor& step, const Tensor& cache) {
  check_type("kv_store", src, DType::F32);
  check_type("kv_store", cache, DType::F16);
  check_type("kv_store", step, DType::I32);
  const int64_t head_dim = src.ne[0], n_kv = src.ne[1], n_tokens = src.ne[2], n_ctx = cache.ne[1];
  DS_CHECK(src.ne[3] == 1 && cache.ne[3] == 1 && cache.ne[0] == head_dim && cache.ne[2] == n_kv, "[kv_store] ",
           src.name, " is ", src.shape_str(), " [head_dim, n_kv, n_tokens] but cache ", cache.name, " is ",
           cache.shape_str(), " [head_dim, n_ctx, n_kv]");
  DS_CHECK(n_tokens <= n_ctx, "[kv_store] ", n_tokens, " tokens do not fit the cache ", cache.name, " of ", n_ctx);
  DS_CHECK(step.n_elements() >= 1, "[kv_store] step tensor ", step.name, " is empty");
  push::KvStorePush pc{uint32_t(head_dim), uint32_t(n_kv), uint32_t(n_tokens), uint32_t(n_ctx)};
  const uint32_t threads = 256;
  auto& p = rec.device().pipeline("kv_store", 3, sizeof pc, {threads});
  auto [gx, gy] = grid_2d(div_up(src.n_elements(), threads));
  rec.dispatch(p, {src.buf, step.buf, cache.buf}, 0b100, &pc, gx, gy, 1, "kv_store");
}

void attention(vk::Recorder& rec, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const Tensor& step,
               float scale, const Tensor& out, const Tensor& scratch, bool combine) {
  Shape s = check_shapes(q, k_cache, v_cache, step, out);
  if (s.n_tokens == 1)
    decode(rec, q, k_cache, v_cache, step, scale, out, scratch, s, combine);
  else
    prefill(rec, q, k_cache, v_cache, step, scale, out, s);
}

size_t attention_scratch_elems(int n_heads, int head_dim, int n_ctx, int /*n_tokens*/) {
  const uint32_t chunks = n_chunks(n_ctx);
  return chunks > 1 ? size_t(n_heads) * chunks * size_t(head_dim + 4) : 0;
}

AttentionSplit attention_decode_split(int64_t n_ctx) { return {chunk_keys(n_ctx), n_chunks(n_ctx)}; }

void attention_combine(vk::Recorder& rec, const Tensor& scratch, const Tensor& step, int64_t n_ctx, const Tensor& out) {
  check_type("attention_combine", scratch, DType::F32);
  check_type("attention_combine", out, DType::F32);
  check_type("attention_combine", step, DType::I32);
  const int64_t head_dim = out.ne[0], n_heads = out.ne[1];
  DS_CHECK(out.ne[2] == 1 && out.ne[3] == 1 && head_dim % 4 == 0 && head_dim >= 4 && head_dim <= 256,
           "[attention_combine] output ", out.name, " is ", out.shape_str(),
           ", expected [head_dim, n_heads, 1] with head_dim a multiple of 4 in [4, 256]");
  const AttentionSplit split = attention_decode_split(n_ctx);
  const size_t need = size_t(n_heads) * split.n_chunks * size_t(head_dim + 4);
  DS_CHECK(size_t(scratch.n_elements()) >= need, "[attention_combine] partials ", scratch.name, " have ",
           scratch.n_elements(), " F32, ", n_heads, " heads x ", split.n_chunks, " chunks of ", head_dim + 4,
           " need ", need);
  push::AttentionPush pc{uint32_t(n_heads), 0, uint32_t(n_ctx), 1, 0.0f, split.chunk_keys, split.n_chunks, 0};
  combine_partials(rec, scratch, step, out, pc, uint32_t(head_dim));
}

}  // namespace ds::ops
