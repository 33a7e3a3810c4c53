// Printing a teacher-student comparison, live (`compare`) or replayed (`replay`): one line per token
// (token, KL, top-1 agreement, the student's choice where it differs), a per-layer summary, or JSON.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "distilscope/snapshots.h"

namespace ds::cli {

using LabelOf = std::function<std::string(int32_t id)>;  // a token id's display text

void print_divergence_header(std::FILE* out);
void print_divergence_row(std::FILE* out, const TokenDivergence& d, const LabelOf& label);
void print_divergence_summary(std::FILE* out, const DivergenceSnapshot& s);
std::string divergence_json(const DivergenceSnapshot& s, const LabelOf& label);

}  // namespace ds::cli
