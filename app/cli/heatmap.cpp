// Heatmap PNGs: an RGB canvas, TrueType labels (stb_truetype), a viridis-like colour scale, stb_image_write.
#include "heatmap.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <stb/stb_image_write.h>
#include <stb/stb_truetype.h>

#include "utf8.h"
#include "util/error.h"

namespace ds::cli {
namespace {

struct Rgb {
  uint8_t r, g, b;
};

// Viridis sampled at ten evenly spaced points; linear interpolation between them.
Rgb colormap(float v) {
  static const Rgb stops[] = {{68, 1, 84},    {72, 40, 120},  {62, 74, 137},  {49, 104, 142}, {38, 130, 142},
                              {31, 158, 137}, {53, 183, 121}, {109, 205, 89}, {180, 222, 44}, {253, 231, 37}};
  v = std::clamp(v, 0.0f, 1.0f) * 9.0f;
  const int i = std::min(int(v), 8);
  const float f = v - float(i);
  auto mix = [f](uint8_t a, uint8_t b) { return uint8_t(std::lround(a + (b - a) * f)); };
  return {mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g), mix(stops[i].b, stops[i + 1].b)};
}

struct Canvas {
  int w, h;
  std::vector<uint8_t> px;
  Canvas(int w_, int h_) : w(w_), h(h_), px(size_t(w_) * size_t(h_) * 3, 255) {}
  void blend(int x, int y, Rgb c, float a) {
    if (x < 0 || y < 0 || x >= w || y >= h || a <= 0) return;
    uint8_t* p = &px[(size_t(y) * size_t(w) + size_t(x)) * 3];
    const uint8_t cc[3] = {c.r, c.g, c.b};
    for (int i = 0; i < 3; ++i) p[i] = uint8_t(std::lround(p[i] + (cc[i] - p[i]) * std::min(a, 1.0f)));
  }
  void rect(int x0, int y0, int rw, int rh, Rgb c) {
    for (int y = y0; y < y0 + rh; ++y)
      for (int x = x0; x < x0 + rw; ++x) blend(x, y, c, 1);
  }
};

class Font {
 public:
  explicit Font(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    DS_CHECK(f, "[heatmap] cannot open the label font ", path);
    data_.assign(std::istreambuf_iterator<char>(f), {});
    DS_CHECK(stbtt_InitFont(&info_, data_.data(), stbtt_GetFontOffsetForIndex(data_.data(), 0)), "[heatmap] ", path,
             " is not a TrueType font");
  }
  int width(const std::vector<int>& cps, float px) const {
    const float s = stbtt_ScaleForPixelHeight(&info_, px);
    float x = 0;
    for (size_t i = 0; i < cps.size(); ++i) {
      int adv, lsb;
      stbtt_GetCodepointHMetrics(&info_, cps[i], &adv, &lsb);
      x += float(adv) * s;
      if (i + 1 < cps.size()) x += float(stbtt_GetCodepointKernAdvance(&info_, cps[i], cps[i + 1])) * s;
    }
    return int(std::ceil(x));
  }
  // Draws text with its baseline at y; rotated: reads upward from (x, y) with the baseline at x.
  void draw(Canvas& c, int x, int y, const std::vector<int>& cps, float px, Rgb col, bool rotated = false) const {
    const float s = stbtt_ScaleForPixelHeight(&info_, px);
    float pen = 0;
    for (size_t i = 0; i < cps.size(); ++i) {
      int x0, y0, x1, y1, adv, lsb;
      stbtt_GetCodepointBitmapBox(&info_, cps[i], s, s, &x0, &y0, &x1, &y1);
      const int gw = x1 - x0, gh = y1 - y0;
      if (gw > 0 && gh > 0) {
        std::vector<uint8_t> bm(size_t(gw) * size_t(gh));
        stbtt_MakeCodepointBitmap(&info_, bm.data(), gw, gh, gw, s, s, cps[i]);
        const int ox = int(std::lround(pen)) + x0;
        for (int v = 0; v < gh; ++v)
          for (int u = 0; u < gw; ++u) {
            const float a = float(bm[size_t(v) * size_t(gw) + size_t(u)]) / 255.0f;
            if (rotated)
              c.blend(x + y0 + v, y - ox - u, col, a);
            else
              c.blend(x + ox + u, y + y0 + v, col, a);
          }
      }
      stbtt_GetCodepointHMetrics(&info_, cps[i], &adv, &lsb);
      pen += float(adv) * s;
      if (i + 1 < cps.size()) pen += float(stbtt_GetCodepointKernAdvance(&info_, cps[i], cps[i + 1])) * s;
    }
  }

 private:
  std::vector<unsigned char> data_;
  stbtt_fontinfo info_{};
};

// At most max_chars code points, with an ellipsis when cut.
std::vector<int> clipped(const std::string& label, size_t max_chars) {
  auto cps = code_points(label);
  if (cps.size() > max_chars) {
    cps.resize(max_chars - 1);
    cps.push_back(0x2026);
  }
  return cps;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void write_one(const std::string& path, const AttentionMap& m, const AttentionSnapshot& snap, const Font& font,
               const HeatmapStyle& st) {
  const int n = std::max(1, m.n_queries);
  const int cell = std::clamp(st.max_side / std::max(n, m.n_keys), 2, 24);
  const float label_px = float(std::clamp(cell - 3, 10, 13));
  const int every = std::max(1, int(std::ceil(13.0 / cell)));  // label every k-th token when cells are small
  auto label = [&](int pos) {
    return clipped(size_t(pos) < snap.token_labels.size() ? snap.token_labels[size_t(pos)] : "?", 14);
  };
  int label_w = 0;
  for (int i = 0; i < std::max(n, m.n_keys); ++i) label_w = std::max(label_w, font.width(label(i), label_px));
  const int title_h = 30, pad = 10, bar_w = 16, bar_gap = 14, tick_w = 60;
  const int mx = pad + label_w + 8 + 30, my = title_h + label_w + 8 + 18;  // matrix origin
  const int W = mx + m.n_keys * cell + bar_gap + bar_w + tick_w + pad, H = my + n * cell + pad + 24;
  Canvas c(std::max(W, 420), H);
  const Rgb ink{30, 30, 30}, grey{120, 120, 120};

  float vmax = 0;
  for (float p : m.probs) vmax = std::max(vmax, p);
  if (vmax <= 0) vmax = 1;
  const int gap = cell >= 8 ? 1 : 0;
  for (int q = 0; q < m.n_queries; ++q)
    for (int k = 0; k < m.n_keys; ++k) {
      const int pos = m.query_begin + q;
      const Rgb col = k > pos ? Rgb{236, 236, 236} : colormap(std::pow(m.at(q, k) / vmax, st.gamma));
      c.rect(mx + k * cell, my + q * cell, cell - gap, cell - gap, col);
    }
  // Labels: queries right-aligned left of the rows, keys rotated above the columns.
  const int ascent = int(label_px * 0.75f);
  for (int q = 0; q < m.n_queries; q += every) {
    const auto cps = label(m.query_begin + q);
    font.draw(c, mx - 6 - font.width(cps, label_px), my + q * cell + (cell + ascent) / 2 - 1, cps, label_px, ink);
  }
  for (int k = 0; k < m.n_keys; k += every) {
    const auto cps = label(k);
    font.draw(c, mx + k * cell + (cell + ascent) / 2, my - 6, cps, label_px, ink, true);
  }
  // Title and axis captions.
  std::string title = "layer " + std::to_string(m.layer) + "  head " + std::to_string(m.head);
  if (m.implied) title += "  (implied attention)";
  font.draw(c, pad, 21, code_points(title), 17, ink);
  const std::string model = std::filesystem::path(snap.model).filename().string();
  font.draw(c, pad + font.width(code_points(title), 17) + 14, 21, clipped(model, 48), 12, grey);
  font.draw(c, pad, my - 6, code_points("query \xe2\x86\x93  key \xe2\x86\x92"), 11, grey);
  font.draw(c, mx, H - 10, code_points("keys: the tokens attended to; rows: the attending token"), 11, grey);
  // Colour bar: top = the map's largest weight, bottom = 0, middle tick at the gamma midpoint.
  const int bx = mx + m.n_keys * cell + bar_gap, bh = std::max(60, std::min(n * cell, 400));
  for (int y = 0; y < bh; ++y) c.rect(bx, my + y, bar_w, 1, colormap(1.0f - float(y) / float(bh - 1)));
  auto tick = [&](float frac, double value) {
    const int y = my + int(std::lround((1.0f - frac) * float(bh - 1)));
    c.rect(bx + bar_w, y, 4, 1, ink);
    font.draw(c, bx + bar_w + 6, y + 4, code_points(fmt("%.3g", value)), 11, ink);
  };
  tick(1, vmax);
  tick(0.5f, vmax * std::pow(0.5, 1.0 / st.gamma));
  tick(0, 0);
  font.draw(c, bx, my + bh + 14, code_points(st.gamma == 1.0f ? "p" : fmt("p (scale p^%.2g)", st.gamma)), 10, grey);
  DS_CHECK(stbi_write_png(path.c_str(), c.w, c.h, 3, c.px.data(), c.w * 3), "[heatmap] cannot write ", path);
}

}  // namespace

std::string label_font_path() {
  if (const char* env = std::getenv("DS_FONT"); env && *env) return env;
  const char* deb = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  DS_CHECK(std::filesystem::exists(deb), "[heatmap] the label font ", deb,
           " is missing: install Debian's fonts-dejavu-core (or set DS_FONT to a .ttf file)");
  return deb;
}

std::vector<std::string> write_heatmaps(const std::string& dir, const AttentionSnapshot& snap,
                                        const HeatmapStyle& style) {
  std::filesystem::create_directories(dir);
  const Font font(label_font_path());
  std::vector<std::string> paths;
  for (const AttentionMap& m : snap.maps) {
    const std::string path =
        (std::filesystem::path(dir) / ("layer" + std::to_string(m.layer) + "_head" + std::to_string(m.head) + ".png"))
            .string();
    write_one(path, m, snap, font, style);
    paths.push_back(path);
  }
  return paths;
}

}  // namespace ds::cli
