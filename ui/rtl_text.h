// Right-to-left text for ImGui, which draws code points left to right without shaping: Arabic
// letters are replaced by their contextual presentation forms (isolated/initial/medial/final,
// lam-alef ligatures) and right-to-left runs are reversed into visual order. Enough for token
// labels and short strings; the Qt chat view does real shaping and bidi for full text.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ds::ui {

bool has_rtl(std::string_view utf8);
// Visual-order UTF-8 for drawing with ImGui (unchanged when there is no right-to-left text).
std::string visual_text(std::string_view utf8);
// visual_text of every label, cached by content (panels call it every frame with the same labels).
const std::vector<std::string>& visual_labels(const std::vector<std::string>& labels);

}  // namespace ds::ui
