// Linear mixer dispatch: feature maps (shaders/linmix_features.comp), chunked linear part (linmix_scan.comp),
// window part + combine (linmix_window.comp), ring update (linmix_ring_store.comp); tile sizes chosen here so the
// shared memory fits the device. Also the state layout/reset and the host-side feature-map initialization.
#include "ops/linear_mixer.h"

#include <cmath>
#include <random>

#include "distilscope/device.h"
#include "ops/check.h"
#include "ops/push.h"
#include "vk/memory.h"
#include "vk/recorder.h"

namespace ds::ops {
namespace {

constexpr uint32_t k_feature_threads = 64;
constexpr uint32_t k_scan_threads = 128;
constexpr uint32_t k_window_threads = 128;       // prefill
constexpr uint32_t k_window_decode_threads = 64;  // decode: one query row
constexpr int64_t k_align = 64;                   // scratch parts start at multiples of 256 bytes

int64_t aligned(int64_t n) { return (n + k_align - 1) / k_align * k_align; }

uint32_t pow2_ceil(uint32_t n) {
  uint32_t p = 1;
  while (p < n) p *= 2;
  return p;
}

// The four parts of the scratch tensor, in F32 elements.
struct ScratchParts {
  int64_t phi_q, phi_k, num, den, total;
};

ScratchParts scratch_parts(const LinearMixerShape& s, int64_t n_tokens) {
  ScratchParts p{};
  const int64_t ff = 2 * int64_t(s.features);
  p.phi_q = 0;
  p.phi_k = p.phi_q + aligned(ff * s.n_heads * n_tokens);
  p.num = p.phi_k + aligned(ff * s.n_state * n_tokens);
  p.den = p.num + aligned(int64_t(s.head_dim) * s.n_heads * n_tokens);
  p.total = p.den + aligned(int64_t(s.n_heads) * n_tokens);
  return p;
}

Tensor part(const Tensor& scratch, int64_t offset, std::array<int64_t, 4> ne, const char* name) {
  Tensor t;
  t.type = DType::F32;
  t.ne = ne;
  t.name = cat(scratch.name, ".", name);
  t.buf = scratch.buf.sub(VkDeviceSize(offset) * 4, t.n_bytes());
  return t;
}

// Scan tiles: DS head_dim columns per workgroup, C tokens per chunk (1 for decode), in shared memory.
struct ScanTiles {
  uint32_t ds = 0, c = 0;
};

size_t scan_shared_bytes(uint32_t ff, uint32_t ds, uint32_t c) {
  return 4 * (size_t(ff) * ds + ff + size_t(c) * (ff + 1) + size_t(c) * ds + size_t(c) * c);
}

ScanTiles scan_tiles(const Device& dev, uint32_t hd, uint32_t ff, int64_t n_tokens) {
  const size_t limit = dev.props().limits.maxComputeSharedMemorySize;
  for (uint32_t ds = std::min(32u, pow2_ceil(hd)); ds >= 1; ds /= 2)
    for (uint32_t c : n_tokens == 1 ? std::vector<uint32_t>{1} : std::vector<uint32_t>{32, 16, 8, 4})
      if (scan_shared_bytes(ff, ds, c) <= limit) return {ds, c};
  fail("[linear_mixer] ", ff / 2, " features need more shared memory than the device's ", limit, " bytes");
}

size_t window_shared_bytes(uint32_t hd, uint32_t bq, uint32_t bk) {
  return 4 * (size_t(bq) * (hd + 1) + size_t(bk) * (hd + 1) + size_t(bk) * hd + size_t(bq) * bk + 2 * bq);
}

void check_f32(const Tensor& t, std::array<int64_t, 4> ne, const char* what) {
  check_type("linear_mixer", t, DType::F32);
  Tensor want;
  want.ne = ne;
  DS_CHECK(t.ne == ne, "[linear_mixer] ", what, " ", t.name, " is ", t.shape_str(), ", expected ", want.shape_str());
}

}  // namespace

LinearMixerStateLayout linear_mixer_state_layout(const LinearMixerShape& s) {
  LinearMixerStateLayout l;
  l.s = {s.head_dim, 2 * int64_t(s.features), s.n_state, 1};
  l.z = {2 * int64_t(s.features), s.n_state, 1, 1};
  l.ring_k = l.ring_v = {s.head_dim, s.window, s.n_kv, 1};
  auto elems = [](const std::array<int64_t, 4>& ne) { return size_t(ne[0] * ne[1] * ne[2] * ne[3]); };
  l.bytes = 4 * (elems(l.s) + elems(l.z) + 2 * elems(l.ring_k));
  return l;
}

LinearMixerState make_linear_mixer_state(vk::Arena& arena, const LinearMixerShape& shape, const std::string& prefix) {
  const LinearMixerStateLayout l = linear_mixer_state_layout(shape);
  LinearMixerState st;
  st.s = make_tensor(arena, DType::F32, l.s, prefix + ".lin_s");
  st.z = make_tensor(arena, DType::F32, l.z, prefix + ".lin_z");
  if (shape.window > 0) {
    st.ring_k = make_tensor(arena, DType::F32, l.ring_k, prefix + ".lin_ring_k");
    st.ring_v = make_tensor(arena, DType::F32, l.ring_v, prefix + ".lin_ring_v");
  }
  return st;
}

void linear_mixer_reset(vk::Recorder& rec, const LinearMixerState& state) {
  for (const Tensor* t : {&state.s, &state.z, &state.ring_k, &state.ring_v})
    if (*t) rec.fill(t->buf.sub(0, t->n_bytes()), 0);
}

size_t linear_mixer_scratch_elems(const LinearMixerShape& shape, int n_tokens) {
  return size_t(scratch_parts(shape, n_tokens).total);
}

LinearMixerShape linear_mixer_shape(const Tensor& q, const Tensor& k, const LinearMixerWeights& w, int window) {
  LinearMixerShape s;
  s.head_dim = int(q.ne[0]);
  s.n_heads = int(q.ne[1]);
  s.n_kv = int(k.ne[1]);
  s.features = int(w.fm_q.ne[0]);
  s.n_fm_q = int(w.fm_q.ne[2]);
  s.n_state = int(w.fm_k.ne[2]);
  s.window = window;
  return s;
}

void linear_mixer(vk::Recorder& rec, const Tensor& q, const Tensor& k, const Tensor& v, const LinearMixerWeights& w,
                  const LinearMixerState& state, const Tensor& step, int window, const Tensor& out,
                  const Tensor& scratch, const LinearMixerOptions& options) {
  Device& dev = rec.device();
  const LinearMixerShape s = linear_mixer_shape(q, k, w, window);
  const int64_t hd = s.head_dim, nh = s.n_heads, nkv = s.n_kv, F = s.features, T = q.ne[2];
  // ---- checks ----
  check_type("linear_mixer", step, DType::I32);
  DS_CHECK(step.n_elements() >= 1, "[linear_mixer] step tensor ", step.name, " is empty");
  check_f32(q, {hd, nh, T, 1}, "q");
  check_f32(k, {hd, nkv, T, 1}, "k");
  check_f32(v, {hd, nkv, T, 1}, "v");
  check_f32(out, q.ne, "out");
  DS_CHECK(T >= 1 && nkv >= 1 && nh % nkv == 0, "[linear_mixer] ", nh, " query heads over ", nkv, " kv heads (",
           k.name, ") and ", T, " tokens");
  DS_CHECK(hd >= 1 && hd <= 1024, "[linear_mixer] head_dim ", hd, " unsupported (1 .. 1024)");
  DS_CHECK(window >= 0, "[linear_mixer] window ", window, " is negative");
  check_f32(w.fm_q, {F, hd, s.n_fm_q, 1}, "query feature map");
  check_f32(w.fm_k, {F, hd, s.n_state, 1}, "key feature map");
  DS_CHECK(F >= 1 && F <= 1024, "[linear_mixer] ", F, " features (", w.fm_q.name, ") unsupported (1 .. 1024)");
  DS_CHECK(s.n_fm_q >= 1 && nh % s.n_fm_q == 0, "[linear_mixer] ", nh, " query heads over ", s.n_fm_q,
           " query feature maps (", w.fm_q.name, ")");
  DS_CHECK(s.n_state >= 1 && nh % s.n_state == 0 && s.n_state % nkv == 0, "[linear_mixer] key feature maps ",
           w.fm_k.name, ": ", s.n_state, " maps must divide ", nh, " query heads and be a multiple of ", nkv,
           " kv heads");
  if (w.window_factor) {
    check_type("linear_mixer", w.window_factor, DType::F32);
    DS_CHECK(w.window_factor.n_elements() == nh, "[linear_mixer] window factor ", w.window_factor.name, " has ",
             w.window_factor.n_elements(), " values for ", nh, " query heads");
  }
  const LinearMixerStateLayout l = linear_mixer_state_layout(s);
  check_f32(state.s, l.s, "state");
  check_f32(state.z, l.z, "state");
  if (window > 0) {
    DS_CHECK(state.ring_k && state.ring_v, "[linear_mixer] window ", window, " but the state has no ring");
    check_f32(state.ring_k, l.ring_k, "window ring (its N is the window)");
    check_f32(state.ring_v, l.ring_v, "window ring (its N is the window)");
  }
  const ScratchParts sp = scratch_parts(s, T);
  check_type("linear_mixer", scratch, DType::F32);
  DS_CHECK(scratch.n_elements() >= sp.total, "[linear_mixer] scratch ", scratch.name, " has ", scratch.n_elements(),
           " F32, ", T, " tokens need ", sp.total, " (linear_mixer_scratch_elems)");
  for (const Tensor* t : {&q, &k, &v, &out, &step, &w.fm_q, &w.fm_k, &w.window_factor, &state.s, &state.z,
                          &state.ring_k, &state.ring_v})
    if (*t || t == &q) check_binding("linear_mixer", *t, dev);

  const uint32_t ff = uint32_t(2 * F);
  const Tensor phi_q = part(scratch, sp.phi_q, {ff, nh, T, 1}, "phi_q");
  const Tensor phi_k = part(scratch, sp.phi_k, {ff, s.n_state, T, 1}, "phi_k");
  const Tensor num = part(scratch, sp.num, {hd, nh, T, 1}, "num");
  const Tensor den = part(scratch, sp.den, {nh, T, 1, 1}, "den");
  for (const Tensor* t : {&phi_q, &phi_k, &num, &den}) check_binding("linear_mixer", *t, dev);
  // Bindings a configuration does not read get a buffer of the same dispatch that is only read.
  const vk::BufferSlice ring_k = window > 0 ? state.ring_k.buf : k.buf;
  const vk::BufferSlice ring_v = window > 0 ? state.ring_v.buf : v.buf;
  const vk::BufferSlice wf = w.window_factor ? w.window_factor.buf : q.buf;

  push::LinearMixerPush pc{};
  pc.head_dim = uint32_t(hd);
  pc.features = uint32_t(F);
  pc.n_heads = uint32_t(nh);
  pc.n_kv = uint32_t(nkv);
  pc.n_fm_q = uint32_t(s.n_fm_q);
  pc.n_state = uint32_t(s.n_state);
  pc.n_tokens = uint32_t(T);
  pc.window = uint32_t(window);
  pc.scale = options.scale > 0 ? options.scale : 1.0f / std::sqrt(float(hd));
  pc.flags = (w.window_factor ? LINMIX_WINDOW_FACTOR : 0u) | (options.affine_factors ? LINMIX_AFFINE : 0u);

  const size_t limit = dev.props().limits.maxComputeSharedMemorySize;
  // 1. phi of the queries and of the keys entering the state.
  DS_CHECK(4 * size_t(hd + F) + 256 <= limit, "[linear_mixer] head_dim ", hd, " and ", F,
           " features exceed the device's shared memory");
  {
    const std::vector<uint32_t> spec{k_feature_threads, uint32_t(hd), uint32_t(F)};
    auto& pq = dev.pipeline("linmix_features_q", 5, sizeof pc, spec);
    auto [qx, qy] = grid_2d(nh * T);
    rec.dispatch(pq, {q.buf, q.buf, w.fm_q.buf, step.buf, phi_q.buf}, 0b10000, &pc, qx, qy, 1, "linmix_features_q");
    auto& pk = dev.pipeline("linmix_features_k", 5, sizeof pc, spec);
    auto [kx, ky] = grid_2d(int64_t(s.n_state) * T);
    rec.dispatch(pk, {k.buf, ring_k, w.fm_k.buf, step.buf, phi_k.buf}, 0b10000, &pc, kx, ky, 1, "linmix_features_k");
  }
  // 2. Linear part (and the state update).
  {
    const ScanTiles st = scan_tiles(dev, uint32_t(hd), ff, T);
    auto& p = dev.pipeline("linmix_scan", 9, sizeof pc, {k_scan_threads, uint32_t(hd), ff, st.ds, st.c});
    rec.dispatch(p, {phi_q.buf, phi_k.buf, v.buf, ring_v, step.buf, state.s.buf, state.z.buf, num.buf, den.buf},
                 0b111100000, &pc, div_up(hd, st.ds), uint32_t(s.n_state), 1, "linmix_scan");
  }
  // 3. Window part and the output.
  {
    uint32_t threads = k_window_threads, bq = 1, bk = 1;
    if (T == 1) {
      threads = k_window_decode_threads;
      for (uint32_t b = 64; b >= 1; b /= 2)
        if (window_shared_bytes(uint32_t(hd), 1, b) <= limit) {
          bk = b;
          break;
        }
    } else {
      for (uint32_t b = 32; b >= 1; b /= 2)
        if (window_shared_bytes(uint32_t(hd), b, b) <= limit) {
          bq = bk = b;
          break;
        }
    }
    DS_CHECK(window_shared_bytes(uint32_t(hd), bq, bk) <= limit, "[linear_mixer] head_dim ", hd,
             " window tiles exceed the device's shared memory");
    const uint32_t sm_lanes = std::min({threads / bq, dev.subgroup_size(), bk});
    auto& p = dev.pipeline("linmix_window", 10, sizeof pc, {threads, uint32_t(hd), bq, bk, sm_lanes});
    rec.dispatch(p, {q.buf, k.buf, v.buf, ring_k, ring_v, step.buf, wf, num.buf, den.buf, out.buf}, 1u << 9, &pc,
                 div_up(T, bq), uint32_t(nh), 1, "linmix_window");
  }
  // 4. The batch's last N keys and values into the ring (after every reader above).
  if (window > 0) {
    const uint32_t threads = 256;
    auto& p = dev.pipeline("linmix_ring_store", 5, sizeof pc, {threads});
    auto [gx, gy] = grid_2d(div_up(hd * nkv * std::min<int64_t>(T, window), threads));
    rec.dispatch(p, {k.buf, v.buf, step.buf, state.ring_k.buf, state.ring_v.buf}, 0b11000, &pc, gx, gy, 1,
                 "linmix_ring_store");
  }
}

std::vector<float> linear_mixer_init(int head_dim, int features, uint64_t seed) {
  DS_CHECK(head_dim >= 1 && features >= 1, "[linear_mixer_init] head_dim ", head_dim, ", features ", features);
  const int d = head_dim, F = features;
  std::vector<float> w(size_t(d) * F, 0.0f);  // (head_dim, F): w[i * F + f]
  if (d == F) {
    for (int i = 0; i < d; ++i) w[size_t(i) * F + i] = 1.0f;
    return w;
  }
  // min(d, F) orthonormal vectors of length max(d, F) by Gram-Schmidt on seeded Gaussians (Box-Muller on
  // mt19937_64 bits, so the result is the same on every platform).
  const int n_vec = std::min(d, F), len = std::max(d, F);
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return (double(rng() >> 11) + 0.5) * 0x1.0p-53; };
  std::vector<std::vector<double>> basis;
  while (int(basis.size()) < n_vec) {
    std::vector<double> x(len);
    for (double& e : x) e = std::sqrt(-2.0 * std::log(uniform())) * std::cos(2.0 * M_PI * uniform());
    for (int pass = 0; pass < 2; ++pass)  // twice for numerical orthogonality
      for (const auto& b : basis) {
        double dot = 0;
        for (int i = 0; i < len; ++i) dot += x[i] * b[i];
        for (int i = 0; i < len; ++i) x[i] -= dot * b[i];
      }
    double norm = 0;
    for (double e : x) norm += e * e;
    norm = std::sqrt(norm);
    if (norm < 1e-6) continue;
    for (double& e : x) e /= norm;
    basis.push_back(std::move(x));
  }
  for (int a = 0; a < n_vec; ++a)
    for (int b = 0; b < len; ++b) {
      // F < d: vector a is column f = a (over i = b); F > d: vector a is row i = a (over f = b).
      const int i = F < d ? b : a, f = F < d ? a : b;
      w[size_t(i) * F + f] = float(basis[a][b]);
    }
  return w;
}

}  // namespace ds::ops
