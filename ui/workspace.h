// The explorer surface: one full-size ImGui window with a tab per panel (attention, activations,
// divergence, throughput, distillation, gallery) and export buttons. The app owns the data and the state and
// calls draw_workspace once per frame; export requests come back in the state.
#pragma once
#include <imgui.h>

#include <optional>
#include <span>
#include <string>

#include "ui/panels.h"

namespace ds::ui {

enum class Panel { Attention, Activations, Divergence, Throughput, Distillation, Gallery };
inline constexpr int k_panel_count = 6;
const char* panel_title(Panel p);     // "Attention", ...
const char* panel_file_name(Panel p);  // "attention", ...

struct ProbeControls;

struct WorkspaceData {
  const AttentionSnapshot* attention = nullptr;
  const AttentionSnapshot* attention_teacher = nullptr;
  const ActivationSnapshot* activations = nullptr;
  std::span<const DivergenceSnapshot> divergence;
  std::span<const ThroughputSample> throughput;
  const TrainingSnapshot* training = nullptr;
  bool synthetic_probes = false;  // attention/activations/divergence are synthetic stand-ins (demo mode)
  std::string status;             // what the probe panels show (model, tokens), or why they are empty
  ProbeControls* probes = nullptr;  // drawn above the probe panels when given (the app reads them back)
  TokenText token_text;
};

// What the engine's probes capture on the next turn, chosen in the explorer. Empty texts: the
// defaults (all layers of a small model, a bounded few of a big one; all heads).
struct ProbeControls {
  bool enabled = true;
  bool logit_lens = true;
  char layers[64] = "";  // "0,2,5"
  char heads[64] = "";
};

enum class ExportKind { Png, Csv, Json };

struct ExportRequest {
  Panel panel = Panel::Attention;
  ExportKind kind = ExportKind::Png;
  ImVec2 min, max;      // Png: the panel's rectangle in framebuffer pixels
  std::string content;  // Csv/Json: the text to write
};

struct WorkspaceState {
  Panel current = Panel::Attention;
  std::optional<Panel> select;  // set to switch tabs on the next frame
  AttentionView attention;
  ActivationsView activations;
  DivergenceView divergence;
  ThroughputView throughput;
  TrainingView training;
  GalleryState gallery;
  std::optional<ExportRequest> export_request;  // taken (reset) by the app
  ImVec2 panel_min, panel_max;                  // where the current panel was drawn
  ProbeControls probes;
};

void draw_workspace(const WorkspaceData& data, WorkspaceState& state);

// CSV/JSON text of a panel's current data (Png: empty).
std::string export_text(const WorkspaceData& data, const WorkspaceState& state, Panel panel, ExportKind kind);

}  // namespace ds::ui
