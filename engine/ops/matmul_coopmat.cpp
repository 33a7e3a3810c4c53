// Which tensor-core matmul kernel serves a shape: the classic 128 x 64 kernel (shaders/matmul_coopmat.comp)
// or one of the large-tile kernels (shaders/matmul_coopmat_tiles.comp), chosen by workgroup count, and how
// many K slices a long-K shape with few output tiles is split into.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "ops/matmul.h"

namespace ds::ops {
namespace {

struct TileShape {
  uint32_t bn, bm;
};

TileShape tile_shape(CoopMatTile t) {
  switch (t) {
    case CoopMatTile::Small: return {64, 64};
    case CoopMatTile::Medium: return {128, 64};
    case CoopMatTile::Large: return {128, 128};
    default: return {128, 64};  // Classic
  }
}

int64_t groups(CoopMatTile t, int64_t N, int64_t M) {
  const TileShape s = tile_shape(t);
  return (N + s.bn - 1) / s.bn * ((M + s.bm - 1) / s.bm);
}

}  // namespace

const char* coopmat_tile_name(CoopMatTile t) {
  switch (t) {
    case CoopMatTile::Classic: return "classic";
    case CoopMatTile::Small: return "s";
    case CoopMatTile::Medium: return "m";
    case CoopMatTile::Large: return "l";
    default: return "auto";
  }
}

uint32_t coopmat_tile_shared_bytes(CoopMatTile t) {
  // Two buffers of (BN + BM) rows of 80 bytes (32 halves + 16 bytes of padding), plus 8 subgroups x 1 KiB
  // of F32 staging for the epilogue; the classic kernel: one buffer of (128 + 64) rows + the staging.
  const TileShape s = tile_shape(t);
  if (t == CoopMatTile::Classic || t == CoopMatTile::Auto) return (128 + 64) * 80 + 8 * 1024;
  return 2 * (s.bn + s.bm) * 80 + 8 * 1024;
}

bool coopmat_tile_fits(CoopMatTile t, int64_t K, DType wtype, const CoopMatLimits& lim) {
  if (t == CoopMatTile::Classic) return true;
  if (t == CoopMatTile::Auto) return false;
  return K % 32 == 0 && wtype != DType::F32 && lim.subgroup_size == 32 &&
         coopmat_tile_shared_bytes(t) <= lim.max_shared_bytes;
}

int coopmat_split_k(int64_t K, int64_t N, int64_t M) {
  if (const char* e = std::getenv("DS_COOPMAT_SPLIT"); e && *e) {
    const int n = std::atoi(e);
    return n > 1 && K % (32 * int64_t(n)) == 0 ? n : 1;
  }
  if (K < 4096 || groups(CoopMatTile::Medium, N, M) >= 2 * k_coopmat_min_groups) return 1;
  int s = int(std::min<int64_t>(4, K / 2048));
  while (s > 1 && K % (32 * int64_t(s)) != 0) --s;
  return s;
}

size_t matmul_split_elems(int64_t K, int64_t N, int64_t M) {
  const int s = coopmat_split_k(K, N, M);
  return s > 1 ? size_t(s) * size_t(N) * size_t(M) : 0;
}

CoopMatTile choose_coopmat_tile(int64_t K, int64_t N, int64_t M, DType wtype, const CoopMatLimits& lim,
                                CoopMatTile requested) {
  if (requested != CoopMatTile::Auto) return coopmat_tile_fits(requested, K, wtype, lim) ? requested : CoopMatTile::Classic;
  CoopMatTile best = CoopMatTile::Classic;
  for (CoopMatTile t : {CoopMatTile::Large, CoopMatTile::Medium, CoopMatTile::Small}) {
    if (!coopmat_tile_fits(t, K, wtype, lim)) continue;
    if (groups(t, N, M) >= k_coopmat_min_groups) return t;
    if (best == CoopMatTile::Classic || groups(t, N, M) > groups(best, N, M)) best = t;
  }
  return best;
}

}  // namespace ds::ops
