// Exports of a trace, live (`trace`) or replayed from the store (`replay`): JSON with tokens, attention rows
// and activations; CSV in long form (attention rows, and activations next to it); a text summary.
#pragma once
#include <cstdio>
#include <string>

#include "distilscope/trace.h"

namespace ds::cli {

std::string trace_json(const TraceResult& r);
// path: attention rows (layer, head, query, key, prob, tokens); "<path minus .csv>.activations.csv": stats.
void write_trace_csv(const std::string& path, const TraceResult& r);
// Per captured layer: mean residual norm, and per head the most attended earlier token of the last query.
void print_trace_summary(std::FILE* out, const TraceResult& r);

void write_text_file(const std::string& path, const std::string& text);  // throws naming the path

}  // namespace ds::cli
