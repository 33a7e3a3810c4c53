// Arabic contextual shaping (to Unicode's Arabic Presentation Forms-B) and run reversal.
// The form table follows the Unicode block layout: each letter's forms are consecutive
// (isolated, final[, initial, medial]) starting at the code point listed.
#include "ui/rtl_text.h"

#include <imgui.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "util/utf8.h"

namespace ds::ui {

namespace {

struct Letter {
  uint32_t first_form = 0;  // isolated form in U+FE80..U+FEF4; 0: not a shaped letter
  int n_forms = 0;          // 1: no joining, 2: joins to the previous letter only, 4: both sides
};

// U+0621..U+064A.
Letter letter(uint32_t cp) {
  static const struct {
    uint32_t cp, form;
    int n;
  } table[] = {
      {0x0621, 0xFE80, 1}, {0x0622, 0xFE81, 2}, {0x0623, 0xFE83, 2}, {0x0624, 0xFE85, 2}, {0x0625, 0xFE87, 2},
      {0x0626, 0xFE89, 4}, {0x0627, 0xFE8D, 2}, {0x0628, 0xFE8F, 4}, {0x0629, 0xFE93, 2}, {0x062A, 0xFE95, 4},
      {0x062B, 0xFE99, 4}, {0x062C, 0xFE9D, 4}, {0x062D, 0xFEA1, 4}, {0x062E, 0xFEA5, 4}, {0x062F, 0xFEA9, 2},
      {0x0630, 0xFEAB, 2}, {0x0631, 0xFEAD, 2}, {0x0632, 0xFEAF, 2}, {0x0633, 0xFEB1, 4}, {0x0634, 0xFEB5, 4},
      {0x0635, 0xFEB9, 4}, {0x0636, 0xFEBD, 4}, {0x0637, 0xFEC1, 4}, {0x0638, 0xFEC5, 4}, {0x0639, 0xFEC9, 4},
      {0x063A, 0xFECD, 4}, {0x0641, 0xFED1, 4}, {0x0642, 0xFED5, 4}, {0x0643, 0xFED9, 4}, {0x0644, 0xFEDD, 4},
      {0x0645, 0xFEE1, 4}, {0x0646, 0xFEE5, 4}, {0x0647, 0xFEE9, 4}, {0x0648, 0xFEED, 2}, {0x0649, 0xFEEF, 2},
      {0x064A, 0xFEF1, 4},
  };
  for (const auto& e : table)
    if (e.cp == cp) return {e.form, e.n};
  return {};
}

bool is_tatweel(uint32_t cp) { return cp == 0x0640; }
bool is_harakah(uint32_t cp) { return (cp >= 0x064B && cp <= 0x065F) || cp == 0x0670; }  // vowel marks: transparent
bool is_rtl(uint32_t cp) {
  return (cp >= 0x0590 && cp <= 0x08FF) || (cp >= 0xFB1D && cp <= 0xFDFF) || (cp >= 0xFE70 && cp <= 0xFEFF);
}
bool joins_forward(uint32_t cp) { return letter(cp).n_forms == 4 || is_tatweel(cp); }
bool joins_backward(uint32_t cp) { return letter(cp).n_forms >= 2 || is_tatweel(cp); }

std::vector<uint32_t> decode(std::string_view s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    uint8_t b = uint8_t(s[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
    if (i + size_t(len) > s.size()) len = 1;
    uint32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (uint8_t(s[i + size_t(k)]) & 0x3F);
    out.push_back(cp);
    i += size_t(len);
  }
  return out;
}

// Neighbouring letter, skipping vowel marks; 0 at the ends.
uint32_t neighbour(const std::vector<uint32_t>& cps, size_t i, int dir) {
  for (long j = long(i) + dir; j >= 0 && j < long(cps.size()); j += dir)
    if (!is_harakah(cps[size_t(j)])) return cps[size_t(j)];
  return 0;
}

std::vector<uint32_t> shape(const std::vector<uint32_t>& cps) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < cps.size(); ++i) {
    uint32_t cp = cps[i];
    Letter l = letter(cp);
    if (!l.first_form) {
      out.push_back(cp);
      continue;
    }
    uint32_t prev = neighbour(cps, i, -1), next = neighbour(cps, i, +1);
    bool from_prev = l.n_forms >= 2 && prev && joins_forward(prev);
    // Lam + alef (with or without hamza/madda) is one ligature: U+FEF5.. (isolated, final) pairs.
    if (cp == 0x0644 && (next == 0x0622 || next == 0x0623 || next == 0x0625 || next == 0x0627)) {
      uint32_t base = next == 0x0622 ? 0xFEF5 : next == 0x0623 ? 0xFEF7 : next == 0x0625 ? 0xFEF9 : 0xFEFB;
      out.push_back(base + (from_prev ? 1 : 0));
      while (++i < cps.size() && cps[i] != next) out.push_back(cps[i]);  // keep marks between them
      continue;
    }
    bool to_next = l.n_forms == 4 && next && joins_backward(next);
    int form = from_prev && to_next ? 3 : from_prev ? 1 : to_next ? 2 : 0;  // isolated, final, initial, medial
    out.push_back(l.first_form + uint32_t(std::min(form, l.n_forms - 1)));
  }
  return out;
}

}  // namespace

bool has_rtl(std::string_view utf8) {
  for (uint32_t cp : decode(utf8))
    if (is_rtl(cp)) return true;
  return false;
}

std::string visual_text(std::string_view utf8) {
  if (!has_rtl(utf8)) return std::string(utf8);
  std::vector<uint32_t> cps = shape(decode(utf8));
  // Reverse each right-to-left run; spaces and marks between right-to-left characters belong to it.
  for (size_t i = 0; i < cps.size();) {
    if (!is_rtl(cps[i])) {
      ++i;
      continue;
    }
    size_t end = i + 1, last_rtl = i;
    for (; end < cps.size(); ++end) {
      if (is_rtl(cps[end])) last_rtl = end;
      else if (cps[end] != ' ') break;
    }
    std::reverse(cps.begin() + long(i), cps.begin() + long(last_rtl) + 1);
    i = last_rtl + 1;
  }
  std::string out;
  for (uint32_t cp : cps) utf8_append(out, cp);
  return out;
}

const std::vector<std::string>& visual_labels(const std::vector<std::string>& labels) {
  // Entries used in this call's frame are never evicted (callers hold references for the frame).
  struct Entry {
    int frame = 0;
    std::vector<std::string> labels;
  };
  static std::unordered_map<size_t, Entry> cache;
  const int frame = ImGui::GetCurrentContext() ? ImGui::GetFrameCount() : 0;
  size_t h = labels.size();
  for (const auto& l : labels) h = h * 1000003u ^ std::hash<std::string>{}(l);
  auto it = cache.find(h);
  if (it != cache.end()) {
    it->second.frame = frame;
    return it->second.labels;
  }
  if (cache.size() > 64)
    for (auto e = cache.begin(); e != cache.end();) e = e->second.frame != frame ? cache.erase(e) : std::next(e);
  Entry entry{frame, {}};
  entry.labels.reserve(labels.size());
  for (const auto& l : labels) entry.labels.push_back(visual_text(l));
  return cache.emplace(h, std::move(entry)).first->second.labels;
}

}  // namespace ds::ui
