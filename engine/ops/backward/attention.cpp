// Training attention dispatch (shaders/attention_train.comp, attention_backward_dq.comp,
// attention_backward_dkv.comp): shape checks and the tile size B (B x B threads, B rows of head_dim floats
// per shared tile), the largest of 16, 8, 4 whose tiles fit the device's shared memory.
#include "ops/backward/attention.h"

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

struct Shape {
  int64_t head_dim, n_heads, n_kv, n_tokens, n_seqs;
};

Shape check_shapes(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                   const Tensor& lse) {
  for (const Tensor* t : {&q, &k, &v, &out, &lse}) check_type(op, *t, DType::F32);
  Shape s{q.ne[0], q.ne[1], k.ne[1], q.ne[2], q.ne[3]};
  DS_CHECK(k.ne[0] == s.head_dim && k.ne[2] == s.n_tokens && k.ne[3] == s.n_seqs, "[", op, "] ", q.name, " is ",
           q.shape_str(), " [head_dim, n_heads, n_tokens, n_seqs] but ", k.name, " is ", k.shape_str(),
           " [head_dim, n_kv, n_tokens, n_seqs]");
  check_same_shape(op, k, v);
  check_same_shape(op, q, out);
  DS_CHECK(s.n_kv > 0 && s.n_heads % s.n_kv == 0, "[", op, "] ", s.n_heads, " query heads are not a multiple of ",
           s.n_kv, " kv heads");
  DS_CHECK(lse.n_elements() == s.n_heads * s.n_tokens * s.n_seqs, "[", op, "] ", lse.name, " has ", lse.n_elements(),
           " values, need n_heads * n_tokens * n_seqs = ", s.n_heads * s.n_tokens * s.n_seqs);
  return s;
}

// Tile size for a kernel holding `tiles` shared tiles of B x (head_dim + 1) floats and `squares` of B x B.
uint32_t tile_size(const Device& dev, const char* op, int64_t head_dim, int tiles, int squares) {
  const uint64_t limit = dev.props().limits.maxComputeSharedMemorySize;
  for (uint32_t b : {16u, 8u, 4u}) {
    const uint64_t bytes = 4ull * (uint64_t(tiles) * b * uint64_t(head_dim + 1) + uint64_t(squares) * b * b + 3 * b);
    if (bytes <= limit && b * b <= dev.props().limits.maxComputeWorkGroupInvocations) return b;
  }
  fail("[", op, "] head_dim ", head_dim, " does not fit the device's ", limit, " bytes of shared memory");
}

}  // namespace

void attention_train(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                     const Tensor& out, const Tensor& lse) {
  const char* op = "attention_train";
  const Shape s = check_shapes(op, q, k, v, out, lse);
  Device& dev = rec.device();
  const uint32_t b = tile_size(dev, op, s.head_dim, 3, 1);
  push::AttentionTrainPush pc{uint32_t(s.n_heads), uint32_t(s.n_kv), uint32_t(s.n_tokens), scale};
  auto& p = dev.pipeline(op, 5, sizeof pc, {b * b, uint32_t(s.head_dim), b});
  rec.dispatch(p, {q.buf, k.buf, v.buf, out.buf, lse.buf}, 0b11000, &pc, div_up(s.n_tokens, b), uint32_t(s.n_heads),
               uint32_t(s.n_seqs), op);
}

void attention_backward(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& d_out, float scale, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv) {
  const char* op = "attention_backward";
  const Shape s = check_shapes(op, q, k, v, out, lse);
  for (const Tensor* t : {&d_out, &dq, &dk, &dv}) check_type(op, *t, DType::F32);
  check_same_shape(op, out, d_out);
  check_same_shape(op, q, dq);
  check_same_shape(op, k, dk);
  check_same_shape(op, v, dv);
  Device& dev = rec.device();
  push::AttentionTrainPush pc{uint32_t(s.n_heads), uint32_t(s.n_kv), uint32_t(s.n_tokens), scale};
  const uint32_t b_q = tile_size(dev, op, s.head_dim, 4, 1);
  auto& pq = dev.pipeline("attention_backward_dq", 7, sizeof pc, {b_q * b_q, uint32_t(s.head_dim), b_q});
  rec.dispatch(pq, {q.buf, k.buf, v.buf, out.buf, lse.buf, d_out.buf, dq.buf}, 0b1000000, &pc, div_up(s.n_tokens, b_q),
               uint32_t(s.n_heads), uint32_t(s.n_seqs), "attention_backward_dq");
  const uint32_t b_kv = tile_size(dev, op, s.head_dim, 4, 2);
  auto& pkv = dev.pipeline("attention_backward_dkv", 8, sizeof pc, {b_kv * b_kv, uint32_t(s.head_dim), b_kv});
  rec.dispatch(pkv, {q.buf, k.buf, v.buf, out.buf, lse.buf, d_out.buf, dk.buf, dv.buf}, 0b11000000, &pc,
               div_up(s.n_tokens, b_kv), uint32_t(s.n_kv), uint32_t(s.n_seqs), "attention_backward_dkv");
}

}  // namespace ds::ops
