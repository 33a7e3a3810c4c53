// Prints per-op GPU timestamps (from --profile) grouped by op name, largest first.
#pragma once
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "vk/recorder.h"

namespace ds::cli {

inline void print_profile(const std::vector<vk::OpTiming>& t, const char* what) {
  std::map<std::string, std::pair<double, int>> by_op;
  double total = 0;
  for (const auto& x : t) {
    by_op[x.label].first += x.ms;
    by_op[x.label].second++;
    total += x.ms;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> rows(by_op.begin(), by_op.end());
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.first > b.second.first; });
  std::fprintf(stderr, "GPU time of the %s: %.3f ms in %zu dispatches\n", what, total, t.size());
  for (auto& [name, v] : rows)
    std::fprintf(stderr, "  %-32s %8.3f ms %5.1f%%  x%d\n", name.c_str(), v.first, total > 0 ? 100 * v.first / total : 0.0,
                 v.second);
}

}  // namespace ds::cli
