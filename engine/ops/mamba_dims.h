// MambaDims: the sizes of one Apriel-H1 "m2" Mamba mixer (shared by the kernels, the CPU reference and the
// initialization helper), with the channel -> group/head mapping spelled out once. No Vulkan here.
#pragma once
#include "distilscope/model_config.h"
#include "util/error.h"

namespace ds {

// in_proj output rows, per token: [z (d_inner) | x (d_xb) | B (d_xb) | C (d_inner)].
// x and B come in groups of d_state; C in heads of d_state. Channel c (0 <= c < d_inner) of the scan belongs
// to head k = c / d_state, which reads group g = k / repeat() (groups repeated consecutively: group g feeds
// heads g*repeat .. g*repeat + repeat - 1). Channel c's x is x[g * d_state + c % d_state].
struct MambaDims {
  int d_inner = 0;  // width of z, C, dt, the conv and the scan
  int d_xb = 0;     // width of x and B before repetition
  int d_state = 0;  // SSM state per channel; also the group/head size of x, B, C
  int d_conv = 4;   // causal depthwise conv kernel length

  int n_heads() const { return d_inner / d_state; }   // heads of C (and of the scan)
  int n_groups() const { return d_xb / d_state; }     // groups of x and B
  int repeat() const { return n_heads() / n_groups(); }
  int zxbc_rows() const { return 2 * d_inner + 2 * d_xb; }
  int x_offset() const { return d_inner; }
  int b_offset() const { return d_inner + d_xb; }
  int c_offset() const { return d_inner + 2 * d_xb; }
  // Row of zxbc holding channel c's x, and the first row of channel c's B and C (d_state rows each).
  int x_row(int c) const { return x_offset() + group_of(c) * d_state + c % d_state; }
  int b_row(int c) const { return b_offset() + group_of(c) * d_state; }
  int c_row(int c) const { return c_offset() + (c / d_state) * d_state; }
  int group_of(int c) const { return (c / d_state) / repeat(); }

  static MambaDims from(const HybridConfig& h) { return {h.d_inner, h.d_xb, h.d_state, h.d_conv}; }

  // Throws naming `what` (an op or a layer) unless the sizes fit together and fit the kernels.
  void check(const char* what) const {
    DS_CHECK(d_state >= 1 && d_state <= 256, "[", what, "] d_state ", d_state, " is outside 1..256");
    DS_CHECK(d_conv >= 2 && d_conv <= 8, "[", what, "] d_conv ", d_conv, " is outside 2..8");
    DS_CHECK(d_inner > 0 && d_xb > 0, "[", what, "] d_inner ", d_inner, " and d_xb ", d_xb, " must be positive");
    DS_CHECK(d_inner % d_state == 0 && d_xb % d_state == 0, "[", what, "] d_state ", d_state,
             " must divide d_inner ", d_inner, " and d_xb ", d_xb);
    DS_CHECK(n_heads() % n_groups() == 0, "[", what, "] ", n_groups(), " x/B groups (d_xb ", d_xb,
             ") do not divide ", n_heads(), " heads (d_inner ", d_inner, ")");
  }
};

}  // namespace ds
