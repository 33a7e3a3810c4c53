// Push-constant structs, one per shader family: included by the GLSL kernels and by the C++ ops
// (engine/ops/push.h), so both sides share one layout. Scalars only (4 bytes each): the std430
// layout GLSL gives push constants then matches C++ exactly; sizes are static_asserted in C++.
#ifndef DS_PUSH_CONSTANTS_H
#define DS_PUSH_CONSTANTS_H

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * w      (x, y: rows x n; w: n)
struct RmsNormPush {
  uint n;
  uint rows;
  float eps;
  uint has_weight;
};

#ifdef __cplusplus
static_assert(sizeof(RmsNormPush) == 16);
#endif

// --- bandwidth probe (ops/bandwidth) ---
// Reads n_vec4 vec4s of src (grid-stride); copy mode also writes them to dst.
struct BandwidthPush {
  uint n_vec4;
  uint copy;
};
#ifdef __cplusplus
static_assert(sizeof(BandwidthPush) == 8);
#endif

#endif
