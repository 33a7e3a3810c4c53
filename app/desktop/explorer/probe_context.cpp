// ProbeContext: captures by position, and the square maps built from them.
#include "app/desktop/explorer/probe_context.h"

#include <algorithm>

namespace ds::app {

void ProbeContext::clear() { *this = ProbeContext{}; }

void ProbeContext::truncate(size_t n) {
  if (ids_.size() > n) ids_.resize(n);
  if (activations_.size() > n) activations_.resize(n);
  for (auto& [key, r] : rows_)
    if (r.by_position.size() > n) r.by_position.resize(n);
}

void ProbeContext::add(const ProbeStep& s) {
  request_ = s.request;
  model_ = s.model.toStdString();
  n_layers_ = s.n_layers;
  n_heads_ = s.n_heads;
  layout_ = s.layout;
  const size_t first = size_t(std::max(s.first_position, 0));
  truncate(first);
  const size_t end = first + s.tokens.size();
  if (ids_.size() < end) ids_.resize(end, -1);
  if (activations_.size() < end) activations_.resize(end);
  for (size_t i = 0; i < s.tokens.size(); ++i) ids_[first + i] = s.tokens[i];
  for (const AttentionMap& m : s.maps) {
    Rows& r = rows_[{m.layer, m.head}];
    r.kind = m.kind;
    r.implied = m.implied;
    for (int q = 0; q < m.n_queries; ++q) {
      const size_t pos = size_t(m.query_begin + q);
      if (r.by_position.size() <= pos) r.by_position.resize(pos + 1);
      const size_t keys = std::min(size_t(m.n_keys), pos + 1);
      const float* row = m.probs.data() + size_t(q) * size_t(m.n_keys);
      r.by_position[pos].assign(row, row + keys);
    }
  }
  for (const TokenActivations& a : s.activations)
    if (a.position >= 0 && size_t(a.position) < activations_.size()) activations_[size_t(a.position)] = a;
}

void ProbeContext::build(AttentionSnapshot& att, ActivationSnapshot& act, const std::vector<std::string>* labels,
                         int max_queries) const {
  const size_t n = ids_.size();
  att = AttentionSnapshot{};
  act = ActivationSnapshot{};
  att.model = act.model = model_;
  att.n_layers = n_layers_;
  att.n_heads = n_heads_;
  att.layout = layout_;
  for (int32_t id : ids_)
    att.token_labels.push_back(labels && id >= 0 && size_t(id) < labels->size() ? (*labels)[size_t(id)]
                                                                                 : "#" + std::to_string(id));
  act.token_labels = att.token_labels;
  for (const auto& [key, r] : rows_) {
    AttentionMap m;
    m.layer = key.first;
    m.head = key.second;
    m.kind = r.kind;
    m.implied = r.implied;
    const size_t first = n > size_t(max_queries) ? n - size_t(max_queries) : 0;
    m.query_begin = int(first);
    m.n_queries = int(n - first);
    m.n_keys = int(n);
    m.probs.assign(size_t(m.n_queries) * n, 0.0f);
    for (size_t p = first; p < std::min(n, r.by_position.size()); ++p) {
      const auto& row = r.by_position[p];
      std::copy_n(row.begin(), std::min(row.size(), n), m.probs.begin() + long((p - first) * n));
    }
    att.maps.push_back(std::move(m));
  }
  for (const auto& a : activations_)
    if (a) act.tokens.push_back(*a);
}

}  // namespace ds::app
