// Trace exports: JSON, CSV, text summary.
#include "trace_export.h"

#include <cmath>
#include <fstream>

#include "utf8.h"
#include "util/error.h"
#include "util/json.h"

namespace ds::cli {

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  DS_CHECK(f, "cannot write ", path);
  f << text;
  DS_CHECK(f.good(), "cannot write ", path);
}

std::string trace_json(const TraceResult& r) {
  JsonWriter j;
  j.begin_object().field("model", r.attention.model);
  j.key("layers").begin_array();
  for (int l : r.layers) j.value(l);
  j.end_array().key("heads").begin_array();
  for (int h : r.heads) j.value(h);
  j.end_array().key("tokens").begin_array();
  for (const TracedToken& t : r.tokens)
    j.begin_object()
        .field("position", t.position)
        .field("id", t.id)
        .field("piece", valid_utf8(t.piece))
        .field("ms", t.ms)
        .field("prompt", t.prompt)
        .end_object();
  j.end_array().key("attention").begin_array();
  for (const AttentionMap& m : r.attention.maps) {
    j.begin_object().field("layer", m.layer).field("head", m.head).field("implied", m.implied);
    j.key("rows").begin_array();  // row q: keys 0 .. q (causal)
    for (int q = 0; q < m.n_queries; ++q) {
      j.begin_array();
      for (int k = 0; k <= std::min(m.query_begin + q, m.n_keys - 1); ++k) j.value(double(m.at(q, k)));
      j.end_array();
    }
    j.end_array().end_object();
  }
  j.end_array().key("activations").begin_array();
  for (const TokenActivations& a : r.activations.tokens) {
    j.begin_object().field("position", a.position).field("token", a.token).key("layers").begin_array();
    for (size_t l = 0; l < a.layers.size(); ++l) {
      const LayerActivation& L = a.layers[l];
      if (L.histogram.empty() && L.logit_lens.empty()) continue;
      j.begin_object().field("layer", int(l));
      if (!L.histogram.empty()) {
        j.field("residual_norm", double(L.residual_norm)).field("mixer_out_norm", double(L.mixer_out_norm));
        j.field("mlp_out_norm", double(L.mlp_out_norm)).key("top_channels").begin_array();
        for (const auto& [ch, v] : L.top_channels) j.begin_array().value(ch).value(double(v)).end_array();
        j.end_array().field("hist_lo", double(L.hist_lo)).field("hist_hi", double(L.hist_hi));
        j.key("histogram").begin_array();
        for (uint32_t c : L.histogram) j.value(int64_t(c));
        j.end_array();
      }
      if (!L.logit_lens.empty()) {
        j.key("logit_lens").begin_array();
        for (const auto& [id, p] : L.logit_lens) j.begin_array().value(id).value(double(p)).end_array();
        j.end_array();
      }
      j.end_object();
    }
    j.end_array().end_object();
  }
  j.end_array().end_object();
  return j.str();
}

namespace {
std::string csv_field(const std::string& s) {
  std::string o = "\"";
  for (char c : valid_utf8(s)) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}
}  // namespace

void write_trace_csv(const std::string& path, const TraceResult& r) {
  const auto& labels = r.attention.token_labels;
  auto label = [&](int pos) { return csv_field(size_t(pos) < labels.size() ? labels[size_t(pos)] : ""); };
  std::string a = "layer,head,query,query_token,key,key_token,prob\n";
  char num[64];
  for (const AttentionMap& m : r.attention.maps)
    for (int q = 0; q < m.n_queries; ++q) {
      const int pos = m.query_begin + q;
      for (int k = 0; k <= std::min(pos, m.n_keys - 1); ++k) {
        std::snprintf(num, sizeof num, "%.9g", double(m.at(q, k)));
        a += cat(m.layer, ",", m.head, ",", pos, ",", label(pos), ",", k, ",", label(k), ",", num, "\n");
      }
    }
  write_text_file(path, a);
  std::string s =
      "position,token,layer,residual_norm,mixer_out_norm,mlp_out_norm,top_channel,top_value,"
      "lens_top_token,lens_top_prob\n";
  for (const TokenActivations& t : r.activations.tokens)
    for (size_t l = 0; l < t.layers.size(); ++l) {
      const LayerActivation& L = t.layers[l];
      if (L.histogram.empty() && L.logit_lens.empty()) continue;
      s += cat(t.position, ",", label(t.position), ",", l, ",", L.residual_norm, ",", L.mixer_out_norm, ",",
               L.mlp_out_norm, ",");
      s += L.top_channels.empty() ? std::string(",") : cat(L.top_channels[0].first, ",", L.top_channels[0].second);
      s += L.logit_lens.empty() ? std::string(",\n")
                                : cat(",", L.logit_lens[0].first, ",", L.logit_lens[0].second, "\n");
    }
  std::string stem = path.size() > 4 && path.substr(path.size() - 4) == ".csv" ? path.substr(0, path.size() - 4) : path;
  write_text_file(stem + ".activations.csv", s);
}

void print_trace_summary(std::FILE* out, const TraceResult& r) {
  const auto& labels = r.attention.token_labels;
  std::fprintf(out, "%zu tokens traced (%zu captured layers, %zu heads each)\n", r.tokens.size(), r.layers.size(),
               r.heads.size());
  for (int layer : r.layers) {
    double norm = 0;
    int n = 0;
    for (const TokenActivations& t : r.activations.tokens)
      if (size_t(layer) < t.layers.size() && !t.layers[size_t(layer)].histogram.empty()) {
        norm += t.layers[size_t(layer)].residual_norm;
        ++n;
      }
    std::fprintf(out, "layer %2d:", layer);
    if (n) std::fprintf(out, " mean residual norm %.3f;", norm / n);
    int shown = 0;
    for (const AttentionMap& m : r.attention.maps) {
      if (m.layer != layer || m.n_queries == 0) continue;
      const int q = m.n_queries - 1;
      int best = 0;
      for (int k = 1; k < m.n_keys; ++k)
        if (m.at(q, k) > m.at(q, best)) best = k;
      if (shown++ < 8)
        std::fprintf(out, " h%d->%s(%.2f)", m.head,
                     valid_utf8(size_t(best) < labels.size() ? labels[size_t(best)] : "?").c_str(), m.at(q, best));
    }
    if (shown > 8) std::fprintf(out, " ...");
    std::fprintf(out, "\n");
  }
}

}  // namespace ds::cli
