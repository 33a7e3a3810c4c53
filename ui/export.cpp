// CSV and JSON writers for the panels' snapshot data.
#include "ui/export.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace ds::ui {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

namespace {

std::string num(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

std::string label(const std::vector<std::string>& labels, int i) {
  return i >= 0 && size_t(i) < labels.size() ? labels[size_t(i)] : "";
}

std::string labels_json(const std::vector<std::string>& labels) {
  std::string out = "[";
  for (size_t i = 0; i < labels.size(); ++i) out += (i ? "," : "") + json_string(labels[i]);
  return out + "]";
}

template <class T, class F>
std::string array_json(const std::vector<T>& v, F&& item) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + item(v[i]);
  return out + "]";
}

const AttentionMap* find(const AttentionSnapshot& s, int layer, int head) {
  for (const auto& m : s.maps)
    if (m.layer == layer && m.head == head) return &m;
  return nullptr;
}

}  // namespace

std::string attention_csv(const AttentionSnapshot& s, int layer, int head) {
  std::ostringstream o;
  o << "layer,head,kind,implied,query,key,query_token,key_token,value\n";
  if (const AttentionMap* m = find(s, layer, head))
    for (int q = 0; q < m->n_queries; ++q)
      for (int k = 0; k < m->n_keys; ++k)
        o << layer << ',' << head << ',' << layer_kind_name(m->kind) << ',' << (m->implied ? 1 : 0) << ','
          << m->query_begin + q << ',' << k << ',' << csv_field(label(s.token_labels, m->query_begin + q)) << ','
          << csv_field(label(s.token_labels, k)) << ',' << num(m->at(q, k)) << '\n';
  return o.str();
}

std::string attention_json(const AttentionSnapshot& s, int layer, int head) {
  const AttentionMap* m = find(s, layer, head);
  std::string out = "{\"model\":" + json_string(s.model) + ",\"layer\":" + std::to_string(layer) +
                    ",\"head\":" + std::to_string(head) + ",\"tokens\":" + labels_json(s.token_labels);
  if (m) {
    out += ",\"kind\":" + json_string(layer_kind_name(m->kind)) + ",\"implied\":" + (m->implied ? "true" : "false") +
           ",\"query_begin\":" + std::to_string(m->query_begin) + ",\"n_queries\":" + std::to_string(m->n_queries) +
           ",\"n_keys\":" + std::to_string(m->n_keys) + ",\"probs\":[";
    for (int q = 0; q < m->n_queries; ++q) {
      out += q ? ",[" : "[";
      for (int k = 0; k < m->n_keys; ++k) out += (k ? "," : "") + num(m->at(q, k));
      out += "]";
    }
    out += "]";
  }
  return out + "}\n";
}

std::string activations_csv(const ActivationSnapshot& s) {
  std::ostringstream o;
  o << "position,token_id,token,layer,residual_norm,mixer_out_norm,mlp_out_norm\n";
  for (const auto& t : s.tokens)
    for (size_t l = 0; l < t.layers.size(); ++l)
      o << t.position << ',' << t.token << ',' << csv_field(label(s.token_labels, t.position)) << ',' << l << ','
        << num(t.layers[l].residual_norm) << ',' << num(t.layers[l].mixer_out_norm) << ','
        << num(t.layers[l].mlp_out_norm) << '\n';
  return o.str();
}

std::string activations_json(const ActivationSnapshot& s) {
  auto pairs = [](const auto& v) {
    return array_json(v, [](const auto& p) { return "[" + num(double(p.first)) + "," + num(double(p.second)) + "]"; });
  };
  auto layer = [&](const LayerActivation& a) {
    return "{\"residual_norm\":" + num(a.residual_norm) + ",\"mixer_out_norm\":" + num(a.mixer_out_norm) +
           ",\"mlp_out_norm\":" + num(a.mlp_out_norm) + ",\"top_channels\":" + pairs(a.top_channels) +
           ",\"histogram\":" + array_json(a.histogram, [](uint32_t c) { return std::to_string(c); }) +
           ",\"hist_lo\":" + num(a.hist_lo) + ",\"hist_hi\":" + num(a.hist_hi) + ",\"logit_lens\":" + pairs(a.logit_lens) +
           "}";
  };
  auto token = [&](const TokenActivations& t) {
    return "{\"position\":" + std::to_string(t.position) + ",\"token\":" + std::to_string(t.token) +
           ",\"layers\":" + array_json(t.layers, layer) + "}";
  };
  return "{\"model\":" + json_string(s.model) + ",\"tokens\":" + labels_json(s.token_labels) +
         ",\"positions\":" + array_json(s.tokens, token) + "}\n";
}

std::string divergence_csv(std::span<const DivergenceSnapshot> students) {
  std::ostringstream o;
  o << "student,position,token_id,token,kl,reverse_kl,top1_agree,topk_overlap,entropy_teacher,entropy_student\n";
  for (const auto& d : students)
    for (const auto& t : d.tokens)
      o << csv_field(d.student) << ',' << t.position << ',' << t.token << ',' << csv_field(label(d.token_labels, t.position))
        << ',' << num(t.kl) << ',' << num(t.reverse_kl) << ',' << (t.top1_agree ? 1 : 0) << ',' << num(t.topk_overlap)
        << ',' << num(t.entropy_teacher) << ',' << num(t.entropy_student) << '\n';
  return o.str();
}

std::string divergence_json(std::span<const DivergenceSnapshot> students) {
  auto floats = [](const std::vector<float>& v) { return array_json(v, [](float x) { return num(x); }); };
  auto token = [&](const TokenDivergence& t) {
    return "{\"position\":" + std::to_string(t.position) + ",\"token\":" + std::to_string(t.token) + ",\"kl\":" +
           num(t.kl) + ",\"reverse_kl\":" + num(t.reverse_kl) + ",\"top1_agree\":" + (t.top1_agree ? "true" : "false") +
           ",\"topk_overlap\":" + num(t.topk_overlap) + ",\"layer_cosine\":" + floats(t.layer_cosine) +
           ",\"layer_attn_js\":" + floats(t.layer_attn_js) + "}";
  };
  std::string out = "[";
  for (size_t i = 0; i < students.size(); ++i) {
    const auto& d = students[i];
    out += (i ? "," : "") + std::string("{\"teacher\":") + json_string(d.teacher) + ",\"student\":" + json_string(d.student) +
           ",\"tokens\":" + labels_json(d.token_labels) + ",\"positions\":" + array_json(d.tokens, token) + "}";
  }
  return out + "]\n";
}

std::string throughput_csv(std::span<const ThroughputSample> samples) {
  std::ostringstream o;
  o << "model,context,tokens_per_s\n";
  for (const auto& s : samples) o << csv_field(s.model) << ',' << s.context << ',' << num(s.tokens_per_s) << '\n';
  return o.str();
}

std::string throughput_json(std::span<const ThroughputSample> samples) {
  std::string out = "[";
  for (size_t i = 0; i < samples.size(); ++i)
    out += (i ? "," : "") + std::string("{\"model\":") + json_string(samples[i].model) +
           ",\"context\":" + std::to_string(samples[i].context) + ",\"tokens_per_s\":" + num(samples[i].tokens_per_s) + "}";
  return out + "]\n";
}

}  // namespace ds::ui
