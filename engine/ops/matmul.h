// Matrix multiply with weights of any supported type, dequantized inside the kernels:
// y[n, m] = sum_k w[k, n] x[k, m] (+ bias[n]) (y += ... when accumulating). A mat-vec kernel serves
// decode (few columns, bandwidth bound), a tiled shared-memory kernel serves prefill (many columns).
#pragma once
#include <cstdint>

#include "ops/tensor.h"

namespace ds {
class Device;
namespace vk {
class Recorder;
}
namespace ops {

enum class MatmulPath {
  Auto,    // mat-vec when M <= MatvecConfig::max_cols, tiled otherwise
  MatVec,  // force the mat-vec kernel (any M: columns go in groups of max_cols)
  Tiled,   // force the tiled kernel (any M)
  CoopMat, // force the tensor-core kernel (devices with VK_NV_cooperative_matrix; K % 8 == 0)
};

// Which mat-vec kernel serves a single column (decode): Strided (shaders/matvec.comp: a workgroup's
// threads stride along K over `rows` rows and reduce through shared memory; any M, any alignment) or
// SubgroupRows (shaders/matvec_rows.comp: x staged in shared memory once, then each subgroup reduces
// `rows` rows with `unroll` 16-byte loads in flight per lane). SubgroupRows is used when M == 1, the
// weights are vector-aligned and K fits the device's shared memory; everything else takes Strided.
// Auto: SubgroupRows for matrices with at least as many rows as their row length (N >= K: q/k/v,
// gate/up, the lm head), Strided for long rows (the down projection), as measured on the H200
// (docs/performance.md).
enum class MatvecKernel { Strided, SubgroupRows, Auto };

// Launch shape of the mat-vec kernels (their spec constants), for tuning.
struct MatvecConfig {
  uint32_t workgroup = 128;  // invocations per workgroup
  uint32_t rows = 2;         // output rows per workgroup (Strided) or per subgroup (SubgroupRows)
  uint32_t max_cols = 8;     // columns of x handled by one workgroup (and the Auto threshold)
  MatvecKernel kernel = MatvecKernel::Strided;
  uint32_t unroll = 4;       // SubgroupRows: 8-weight chunks per lane in flight
};
MatvecConfig default_matvec_config(const Device& dev);
// Whether Auto sends a large-M matmul with weight w to the tensor-core kernel (which rounds x and the
// dequantized weights to F16, accumulating in F32): devices with VK_NV_cooperative_matrix, weights
// other than F32, vector-aligned K.
bool uses_coopmat(const Device& dev, const Tensor& w, bool aligned);

// Which tensor-core kernel a CoopMat matmul runs. Classic: shaders/matmul_coopmat.comp (128 x 64 tile,
// single-buffered, any K % 8 == 0, any weight type). Small / Medium / Large: shaders/matmul_coopmat_tiles.comp
// with 64 x 64, 128 x 64 or 128 x 128 (n x m) tiles, double-buffered shared memory and register
// prefetch; they need K % 32 == 0, non-F32 weights, 32-lane subgroups and the tile's shared memory.
enum class CoopMatTile { Auto, Classic, Small, Medium, Large };
struct CoopMatLimits {
  uint32_t subgroup_size = 32;
  uint32_t max_shared_bytes = 49152;
};
// Shared memory a tile kernel needs (bytes), and whether it serves this K and weight type on this device.
uint32_t coopmat_tile_shared_bytes(CoopMatTile t);
bool coopmat_tile_fits(CoopMatTile t, int64_t K, DType wtype, const CoopMatLimits& lim);
// Auto: the largest tile that still gives at least k_coopmat_min_groups workgroups (so the GPU's
// multiprocessors stay busy), else the tile with the most workgroups; Classic where no tile kernel fits.
// A requested tile that does not fit falls back to Classic as well. Pure function (tested on any device).
constexpr int64_t k_coopmat_min_groups = 128;
CoopMatTile choose_coopmat_tile(int64_t K, int64_t N, int64_t M, DType wtype, const CoopMatLimits& lim,
                                CoopMatTile requested = CoopMatTile::Auto);
const char* coopmat_tile_name(CoopMatTile t);  // "classic", "s", "m", "l" ("auto")

struct MatmulOptions {
  Tensor bias;              // F32 [N], optional
  bool accumulate = false;  // y += W·x (+ bias) instead of y = W·x (+ bias)
  MatmulPath path = MatmulPath::Auto;
  const MatvecConfig* matvec = nullptr;  // null: default_matvec_config(device)
  // false forces the one-weight-at-a-time path (for tests; otherwise it is taken only when
  // K % 8 != 0 or a binding is not 16-byte aligned).
  bool vector_loads = true;
  // Decode fusions (mat-vec path only): x is read as rms_norm(x) * norm_weight (norm_weight F32 [K]),
  // or, with glu, x is [2K, M] = [gate | up] per column and read as silu(gate) * up.
  Tensor norm_weight;
  float norm_eps = 1e-5f;
  bool glu = false;
  // y = W^T x: w [K, N] is read as its transpose, so x is F32 [N, M] and y F32 [K, M] (the backward's
  // dX = W^T dY, see ops/backward/matmul.h). Tiled kernel only (MatmulPath::MatVec is refused).
  bool transpose_w = false;
  // Tensor-core kernel (CoopMat path); Auto: choose_coopmat_tile, or DS_COOPMAT_TILE=classic|s|m|l.
  CoopMatTile coopmat_tile = CoopMatTile::Auto;
  // F32 workspace that lets the tensor-core path split K (coopmat_split_k): S partial products in it, then
  // one pass sums them in order into y. Optional; at least matmul_split_elems(K, N, M) elements to be used.
  Tensor split_scratch;
};

// Split-K for the tensor-core tile kernels: how many K slices (1 = none) for a K x N x M product. Splits only
// long K (>= 4096, into slices of 2048, at most 4) when the output alone gives fewer than 2 *
// k_coopmat_min_groups workgroups of the 128 x 64 tile: the down projection's K 8192 x N 2048 x M 512 (128
// workgroups) becomes 4 x 64 of the 128 x 128 tile. DS_COOPMAT_SPLIT=N forces N slices where K allows
// (K % (32 N) == 0), =1 turns it off.
int coopmat_split_k(int64_t K, int64_t N, int64_t M);
size_t matmul_split_elems(int64_t K, int64_t N, int64_t M);

// w: [K, N] F32|F16|BF16|Q8_0|Q4_0 (row n = K contiguous weights; K % 32 == 0 for Q8_0/Q4_0);
// x: F32 [K, M], or F16 for the plain product (no fusions, not transposed: prefill's activations on tensor-core
// devices, which round x to F16 anyway; the other kernels read it into F32); y: F32 [N, M]. x and y must not
// overlap.
void matmul(vk::Recorder& rec, const Tensor& w, const Tensor& x, const Tensor& y, const MatmulOptions& opts = {});

}  // namespace ops
}  // namespace ds
