// PNG heatmaps of attention maps for `trace` and `replay`: queries down, keys across, each axis labelled
// with its tokens (DejaVu Sans through stb_truetype, column labels rotated), a title, and a colour bar.
// Text and colours are drawn into an RGB canvas here; stb_image_write encodes it.
#pragma once
#include <string>
#include <vector>

#include "distilscope/snapshots.h"

namespace ds::cli {

struct HeatmapStyle {
  int max_side = 1000;  // pixels of the matrix at most (cells shrink for long sequences)
  float gamma = 0.5f;   // colour = colormap((p / p_max)^gamma): sqrt brings out small weights
};

// Writes one PNG per map into dir (created if missing): layer<L>_head<H>.png. Returns the paths.
std::vector<std::string> write_heatmaps(const std::string& dir, const AttentionSnapshot& snap,
                                        const HeatmapStyle& style = {});

// The font used for labels: $DS_FONT, else DejaVu Sans from fonts-dejavu-core; throws naming the package.
std::string label_font_path();

}  // namespace ds::cli
