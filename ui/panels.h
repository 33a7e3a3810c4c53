// The explorer's ImGui panels: each is a function over snapshot structs (distilscope/snapshots.h)
// and a small view-state struct it may change (selection, zoom); like ImGui's widgets they return
// true when the user changed the selection. No Qt, no Vulkan here: the app hands in the data.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "distilscope/snapshots.h"
#include "ui/heatmap.h"

namespace ds::ui {

// Vocabulary id -> display label (the app passes one built from the model's tokenizer).
using TokenText = std::function<std::string(int32_t)>;

// ---- Attention explorer ------------------------------------------------------------------------
enum class AttentionMode { Map, HeadsGrid, Overview };
enum class HeadMetric { Entropy, FirstToken, PreviousToken };  // the overview's per-head summary

struct AttentionView {
  AttentionMode mode = AttentionMode::Map;
  int layer = 0, head = 0;
  HeadMetric metric = HeadMetric::Entropy;
  bool compare = true;  // teacher and difference beside the student when a teacher is given
  HeatmapView map, teacher_map, diff_map, overview;
  std::vector<HeatmapView> thumbs;  // heads grid (not zoomable; one per head)
};

// `teacher` may be null. Maps of mixer layers are labelled "implied attention".
bool draw_attention_panel(const AttentionSnapshot& student, const AttentionSnapshot* teacher, AttentionView& view);

// The captured map of (layer, head), or null.
const AttentionMap* find_map(const AttentionSnapshot& snap, int layer, int head);
// Normalized entropy (0..1), mass on the first token, or mass on the previous token, averaged
// over the map's query rows.
float head_metric(const AttentionMap& map, HeadMetric metric);

// ---- Activations ---------------------------------------------------------------------------------
struct ActivationsView {
  int token = -1;  // -1: the last token
  int layer = 0;
  HeatmapView norms;
};
bool draw_activations_panel(const ActivationSnapshot& snap, const TokenText& token_text, ActivationsView& view);

// ---- Divergence timeline --------------------------------------------------------------------------
struct DivergenceView {
  int student = 0;      // whose per-layer strip is shown
  int token = -1;       // hovered/selected position
  bool reverse_kl = false;
  HeatmapView layers;
};
bool draw_divergence_panel(std::span<const DivergenceSnapshot> students, const TokenText& token_text,
                           DivergenceView& view);

// ---- Throughput ---------------------------------------------------------------------------------
struct ThroughputView {
  bool per_model = true;
};
bool draw_throughput_panel(std::span<const ThroughputSample> samples, ThroughputView& view);

// ---- Distillation: the loss per step of each stage of a staged distillation, live ---------------------
struct TrainingStageCurve {
  std::string label;          // "stage 0: layer 1 -> mamba"
  std::vector<float> steps;   // global step (over all stages) of each point
  std::vector<float> losses;  // the step's total loss
  bool done = false;
};
struct TrainingSnapshot {
  std::vector<TrainingStageCurve> stages;
  std::string status;  // "stage 1 of 2, step 7/12, loss 3.21" or why there is nothing
  int total_steps = 0;  // of the plan (x axis up to it while running); 0: from the data
};
struct TrainingView {
  bool log_scale = false;
};
bool draw_training_panel(const TrainingSnapshot& snap, TrainingView& view);
std::string training_csv(const TrainingSnapshot& snap);   // stage,label,step,loss rows
std::string training_json(const TrainingSnapshot& snap);  // [{stage, label, steps, losses}]

// ---- Gallery: every panel on synthetic data (the living documentation of the widgets) ------------
struct GalleryState {
  int n_tokens = 48;
  int seed = 1;
  bool built = false;
  AttentionSnapshot student, teacher;
  ActivationSnapshot activations;
  std::vector<DivergenceSnapshot> divergence;
  std::vector<ThroughputSample> throughput;
  AttentionView attention_view;
  ActivationsView activations_view;
  DivergenceView divergence_view;
  ThroughputView throughput_view;
};
void draw_gallery_panel(GalleryState& state);

}  // namespace ds::ui
