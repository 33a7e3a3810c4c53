// Font discovery and ImGui atlas setup with explicit glyph ranges.
#include "ui/fonts.h"

#include <imgui.h>

#include <cstdlib>
#include <filesystem>

namespace ds::ui {

std::string find_ui_font() {
  if (const char* e = std::getenv("DS_UI_FONT"); e && *e && std::filesystem::is_regular_file(e)) return e;
  for (const char* p : {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"})
    if (std::filesystem::is_regular_file(p)) return p;
  return {};
}

std::string load_ui_font(float size_px) {
  std::string path = find_ui_font();
  if (path.empty()) return {};
  static const ImWchar ranges[] = {
      0x0020, 0x00FF,  // Basic Latin, Latin-1 (é, ï, «, ·)
      0x0100, 0x024F,  // Latin Extended-A/B (œ, ł, ş)
      0x0370, 0x03FF,  // Greek
      0x0400, 0x04FF,  // Cyrillic
      0x0600, 0x06FF,  // Arabic
      0x2000, 0x206F,  // General Punctuation (…, ‹›)
      0x2190, 0x21FF,  // Arrows (↵ ⇥ →)
      0x2200, 0x22FF,  // Mathematical Operators (∅ −)
      0x2400, 0x243F,  // Control Pictures (␣)
      0x25A0, 0x25FF,  // Geometric Shapes (▁ ■)
      0x27E8, 0x27E9,  // ⟨ ⟩ (byte labels)
      0xFB50, 0xFDFF,  // Arabic Presentation Forms-A
      0xFE70, 0xFEFF,  // Arabic Presentation Forms-B (contextual forms, see rtl_text.h)
      0xFFFD, 0xFFFD,  // replacement character
      0,
  };
  ImFontConfig cfg;
  cfg.OversampleH = 2;
  cfg.OversampleV = 1;
  ImGuiIO& io = ImGui::GetIO();
  if (!io.Fonts->AddFontFromFileTTF(path.c_str(), size_px, &cfg, ranges)) return {};
  return path;
}

}  // namespace ds::ui
