// Divergence tables, summaries and JSON.
#include "compare_print.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "utf8.h"
#include "util/error.h"
#include "util/json.h"
#include "util/utf8.h"

namespace ds::cli {
namespace {

// The text padded (or cut) to `width` code points.
std::string cell(const std::string& s, size_t width) {
  const std::string v = valid_utf8(s);
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < v.size() && n < width; ++n) {
    const size_t len = std::max<size_t>(utf8_char_len(v, i), 1);  // v is valid UTF-8
    out += v.substr(i, len);
    i += len;
  }
  return out + std::string(width - n, ' ');
}

struct LayerMeans {
  std::vector<double> cos, js;
  std::vector<int> n_cos, n_js;
};

LayerMeans layer_means(const DivergenceSnapshot& s) {
  LayerMeans m;
  for (const TokenDivergence& d : s.tokens) {
    const size_t L = std::max(d.layer_cosine.size(), d.layer_attn_js.size());
    if (m.cos.size() < L) {
      m.cos.resize(L), m.js.resize(L), m.n_cos.resize(L), m.n_js.resize(L);
    }
    for (size_t l = 0; l < d.layer_cosine.size(); ++l)
      if (!std::isnan(d.layer_cosine[l])) m.cos[l] += d.layer_cosine[l], m.n_cos[l]++;
    for (size_t l = 0; l < d.layer_attn_js.size(); ++l)
      if (!std::isnan(d.layer_attn_js[l])) m.js[l] += d.layer_attn_js[l], m.n_js[l]++;
  }
  return m;
}

}  // namespace

void print_divergence_header(std::FILE* out) {
  std::fprintf(out, "%5s  %-14s %9s %9s  %-5s %7s %7s %7s  %s\n", "pos", "token", "KL", "rev KL", "top1", "top-k",
               "H(t)", "H(s)", "student's choice");
}

void print_divergence_row(std::FILE* out, const TokenDivergence& d, const LabelOf& label) {
  std::string choice;
  if (!d.top1_agree) {
    char p[32] = "";
    for (const auto& [id, prob] : d.student_top)
      if (id == d.student_top1) std::snprintf(p, sizeof p, " (%.2f)", double(prob));
    choice = valid_utf8(label(d.student_top1)) + p;
  }
  std::fprintf(out, "%5d  %s %9.5f %9.5f  %-5s %7.2f %7.3f %7.3f  %s\n", d.position + 1,
               cell(label(d.token), 14).c_str(), double(d.kl), double(d.reverse_kl), d.top1_agree ? "yes" : "NO",
               double(d.topk_overlap), double(d.entropy_teacher), double(d.entropy_student), choice.c_str());
}

void print_divergence_summary(std::FILE* out, const DivergenceSnapshot& s) {
  double kl = 0, agree = 0;
  for (const TokenDivergence& d : s.tokens) kl += d.kl, agree += d.top1_agree;
  const double n = double(std::max<size_t>(s.tokens.size(), 1));
  std::fprintf(out, "%zu tokens: mean KL %.5f nats, top-1 agreement %.1f%%\n", s.tokens.size(), kl / n,
               100 * agree / n);
  const LayerMeans m = layer_means(s);
  if (m.cos.empty()) return;
  // A student mixer layer's JS is against its implied attention (linear kernel weights, unrolled Mamba scan).
  std::fprintf(out, "layer  student            mean residual cosine  mean attention JS\n");
  for (size_t l = 0; l < m.cos.size(); ++l) {
    const LayerKind k = l < s.student_layout.size() ? s.student_layout[l] : LayerKind::Attention;
    const std::string kind = k == LayerKind::Attention ? "attention" : cat(layer_kind_name(k), " (implied)");
    std::fprintf(out, "%5zu  %-17s  %20s  %17s\n", l, kind.c_str(),
                 m.n_cos[l] ? std::to_string(m.cos[l] / m.n_cos[l]).c_str() : "-",
                 m.n_js[l] ? std::to_string(m.js[l] / m.n_js[l]).c_str() : "-");
  }
}

std::string divergence_json(const DivergenceSnapshot& s, const LabelOf& label) {
  JsonWriter j;
  j.begin_object().field("teacher", s.teacher).field("student", s.student).key("tokens").begin_array();
  double kl = 0, agree = 0;
  for (const TokenDivergence& d : s.tokens) {
    kl += d.kl, agree += d.top1_agree;
    j.begin_object()
        .field("position", d.position + 1)
        .field("token", d.token)
        .field("text", valid_utf8(label(d.token)));
    j.field("kl", double(d.kl)).field("reverse_kl", double(d.reverse_kl)).field("top1_agree", d.top1_agree);
    j.field("topk_overlap", double(d.topk_overlap)).field("entropy_teacher", double(d.entropy_teacher));
    j.field("entropy_student", double(d.entropy_student)).field("p_teacher", double(d.p_teacher));
    j.field("p_student", double(d.p_student)).field("teacher_top1", d.teacher_top1);
    j.field("student_top1", d.student_top1).field("student_text", valid_utf8(label(d.student_top1)));
    j.key("layer_cosine").begin_array();
    for (float c : d.layer_cosine) j.value(double(c));
    j.end_array().key("layer_attn_js").begin_array();
    for (float c : d.layer_attn_js) j.value(double(c));
    j.end_array().end_object();
  }
  const double n = double(std::max<size_t>(s.tokens.size(), 1));
  j.end_array().key("summary").begin_object().field("tokens", int64_t(s.tokens.size()));
  j.field("mean_kl", kl / n).field("top1_agreement", agree / n).key("layers").begin_array();
  const LayerMeans m = layer_means(s);
  for (size_t l = 0; l < m.cos.size(); ++l) {
    j.begin_object().field("layer", int64_t(l));
    j.key("mean_cosine");
    m.n_cos[l] ? j.value(m.cos[l] / m.n_cos[l]) : j.null();
    j.key("mean_js");
    m.n_js[l] ? j.value(m.js[l] / m.n_js[l]) : j.null();
    j.end_object();
  }
  j.end_array().end_object().end_object();
  return j.str();
}

}  // namespace ds::cli
