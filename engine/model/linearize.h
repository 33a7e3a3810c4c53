// Linearizing a teacher: the untrained hybrid student whose chosen attention layers become mixers initialized
// from the teacher's own weights (Apriel-H1 / LoLCATs recipes), everything else copied. `linearize` (CLI) writes
// the result with model/model_writer.h. Mamba: C <- W_Q, B <- W_K, x <- W_V, out_proj <- W_O (init_mamba_from_
// attention); linear: Q/K/V/O kept, Hedgehog maps from ops::linear_mixer_init, window-factor logits 0.
#pragma once
#include <cstdint>
#include <vector>

#include "model/model_source.h"
#include "model/model_writer.h"

namespace ds {

struct LinearizeOptions {
  std::vector<int> layers;             // layers to replace (attention layers of the teacher)
  LayerKind mixer = LayerKind::Mamba;  // Mamba or Linear
  int d_state = 16;                    // Mamba: state per channel; must divide the KV width (n_kv x head_dim)
  int features = 0;                    // linear: F (0 = head_dim: the identity map)
  int window = 64;                     // linear: softmax window N
  uint64_t seed = 0;
  bool hf_output = false;              // Mamba students for an HF directory: arch apriel_hybrid
};

struct Student {
  ModelConfig config;
  TensorOverrides tensors;  // the new mixer tensors (F32, GGUF names/shapes); the rest comes from the teacher
};

// Throws naming the problem: a layer out of range or not attention, d_state not dividing the KV width, a
// teacher hybrid whose existing mixers have other hyper-parameters.
Student linearize(const ModelSource& teacher, const LinearizeOptions& opts);

}  // namespace ds
