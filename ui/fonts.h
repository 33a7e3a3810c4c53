// The ImGui font: a real TrueType font (DejaVu Sans, from fonts-dejavu-core) with the glyph
// ranges our labels need (Latin with accents, Greek, Cyrillic, Arabic and its presentation forms,
// arrows, math brackets for byte labels, symbols), instead of ImGui's ASCII-only built-in font.
#pragma once
#include <string>

namespace ds::ui {

// The first font file found: $DS_UI_FONT, then the Debian DejaVu/Noto paths; "" when none.
std::string find_ui_font();

// Adds the font to the current ImGui context's atlas (before the atlas is built). Returns the
// file used, or "" when none was found (ImGui's built-in font is used then: ASCII only).
std::string load_ui_font(float size_px);

}  // namespace ds::ui
