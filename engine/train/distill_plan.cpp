// Distillation plans: strict JSON reading and the checks against the teacher (see distill_plan.h).
#include "train/distill_plan.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "train/json_section.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace ds::train {
namespace {

std::string resolve(const std::string& path, const std::string& base) {
  if (path.empty() || path == "teacher" || path == "none" || std::filesystem::path(path).is_absolute() || base.empty())
    return path;
  return (std::filesystem::path(base) / path).lexically_normal().string();
}

StagePlan parse_stage(const JsonRef& r) {
  StagePlan st;
  Section s(r);
  s.help_ = "Distillation";
  if (auto l = s.find("layers")) {
    if (l->is_array()) {
      for (size_t i = 0; i < l->size(); ++i) st.layers.push_back(int(l->at(i).as_int(0, 1 << 20)));
      if (st.layers.empty()) l->fail_here("lists no layers");
    } else if (l->is_object()) {
      Section a(*l);
      a.help_ = "Distillation";
      a.num("auto", st.auto_count, 1, 1 << 20);
      std::string by = "leave-one-out";
      a.str("by", by);
      if (by == "leave-one-out") st.by = Importance::LeaveOneOut;
      else if (by == "probe") st.by = Importance::Probe;
      else l->get("by").fail_here("is '" + by + "', expected leave-one-out or probe");
      a.finish();
      if (st.auto_count == 0) l->fail_here("needs \"auto\": K (how many layers to convert)");
    } else {
      l->fail_here("is neither a list of layers nor {\"auto\": K, \"by\": ...}");
    }
  }
  std::string mixer = "mamba", train = "mixers";
  s.str("mixer", mixer);
  if (mixer == "mamba") st.mixer = LayerKind::Mamba;
  else if (mixer == "linear") st.mixer = LayerKind::Linear;
  else r.get("mixer").fail_here("is '" + mixer + "', expected linear or mamba");
  s.str("train", train);
  if (train == "mixers") st.train = TrainGroup::Mixers;
  else if (train == "all") st.train = TrainGroup::All;
  else if (train == "lora") st.train = TrainGroup::Lora;
  else r.get("train").fail_here("is '" + train + "', expected mixers, all or lora");
  if (st.layers.empty() && st.auto_count == 0 && st.train != TrainGroup::Lora)
    r.fail_here("has no \"layers\" (only a \"train\": \"lora\" stage may convert none)");
  if (st.train == TrainGroup::Lora) st.lora.rank = 8;
  if (auto l = s.find("lora")) {
    if (st.train != TrainGroup::Lora)
      l->fail_here("sets LoRA adapters, but the stage trains '" + train + "': LoRA needs \"train\": \"lora\"");
    Section ls(*l);
    ls.help_ = "Distillation";
    ls.num("rank", st.lora.rank, 1, 1 << 16);
    ls.num("alpha", st.lora.alpha, 1e-6, 1e6);
    if (auto t = ls.find("targets")) {
      if (!t->is_array() || t->size() == 0) t->fail_here("must be a non-empty list of q, k, v, o, gate, up, down");
      st.lora.targets.clear();
      for (size_t i = 0; i < t->size(); ++i) {
        const std::string name = t->at(i).as_string();
        const auto target = parse_lora_target(name);
        if (!target) t->at(i).fail_here("is '" + name + "', expected one of q, k, v, o, gate, up, down");
        if (st.lora.has(*target)) t->at(i).fail_here("names '" + name + "' twice");
        st.lora.targets.push_back(*target);
      }
    }
    ls.finish();
  }
  if (auto l = s.find("loss")) {
    Section ls(*l);
    ls.help_ = "Distillation";
    ls.num("reverse_kl", st.loss.reverse_kl, 0.0, 1e6);
    ls.num("forward_kl", st.loss.forward_kl, 0.0, 1e6);
    ls.num("ce", st.loss.ce, 0.0, 1e6);
    ls.num("hidden", st.loss.hidden, 0.0, 1e6);
    ls.num("temperature", st.loss.temperature, 1e-3, 1e3);
    ls.finish();
    if (st.loss.reverse_kl + st.loss.forward_kl + st.loss.ce + st.loss.hidden <= 0)
      l->fail_here("has every weight 0");
  }
  s.num("steps", st.steps, 1, 1 << 30);
  s.num("lr", st.lr, 0.0, 10.0);
  s.finish();
  return st;
}

}  // namespace

DistillPlan parse_distill_plan(const JsonRef& root, const std::string& base_dir) {
  if (!root.is_object()) root.fail_here("is not an object");
  DistillPlan p;
  const std::set<std::string> sections = {"data", "train", "optimizer", "eval", "mixer", "output", "stages"};
  for (const auto& [k, r] : root.members())
    if (!sections.count(std::string(k)))
      r.fail_here("is not a known section (data, train, optimizer, eval, mixer, output, stages)");

  Section d(root, "data");
  d.help_ = "Distillation";
  d.str("corpus", p.corpus);
  d.num("teacher_samples", p.teacher_samples, 1, 1 << 24);
  d.num("sample_temperature", p.sample_temperature, 0.0, 10.0);
  d.str("separator", p.separator);
  d.num("validation_fraction", p.validation_fraction, 0.0, 0.9);
  d.finish();
  if (p.corpus.empty()) root.fail_here("needs data.corpus: a UTF-8 text file, or \"teacher\"");
  p.corpus = resolve(p.corpus, base_dir);

  Section t(root, "train");
  t.help_ = "Distillation";
  t.num("seq_len", p.seq_len, 2, 1 << 16);
  t.num("batch_seqs", p.batch_seqs, 1, 1 << 20);
  t.num("micro_batch_seqs", p.micro_batch_seqs, 0, 1 << 20);
  t.num("seed", p.seed, 0, 9.0e15);
  t.type("weights", p.weights);
  t.finish();

  p.optim = parse_optim_section(root);
  if (!root.has("optimizer")) p.optim.warmup_steps = 10;

  Section e(root, "eval");
  e.help_ = "Distillation";
  e.num("sequences", p.eval_sequences, 0, 1 << 30);
  e.num("decode_tokens", p.decode_tokens, 0, 1 << 20);
  e.num("probe_steps", p.probe_steps, 1, 1 << 20);
  e.finish();

  Section m(root, "mixer");
  m.help_ = "Distillation";
  m.num("d_state", p.d_state, 1, 256);
  m.num("features", p.features, 0, 1024);
  m.num("window", p.window, 0, 1 << 20);
  m.finish();

  Section o(root, "output");
  o.help_ = "Distillation";
  o.num("checkpoint_interval", p.checkpoint_interval, 1, 1 << 30);
  o.num("log_interval", p.log_interval, 1, 1 << 30);
  o.type("export_type", p.export_type);
  o.str("store", p.store);
  o.finish();
  p.store = resolve(p.store, base_dir);

  const JsonRef stages = root.get("stages");
  if (!stages.is_array() || stages.size() == 0) stages.fail_here("must be a non-empty list of stages");
  for (size_t i = 0; i < stages.size(); ++i) p.stages.push_back(parse_stage(stages.at(i)));
  return p;
}

DistillPlan read_distill_plan(const std::string& path) {
  const JsonDocument d = read_json_file(path);
  DistillPlan p = parse_distill_plan(d, std::filesystem::path(path).parent_path().string());
  std::ifstream in(path, std::ios::binary);
  p.json = std::string(std::istreambuf_iterator<char>(in), {});
  return p;
}

void check_plan(const DistillPlan& plan, const ModelConfig& teacher) {
  std::vector<int> converted_in(size_t(teacher.n_layers), -1);
  int auto_pending = 0;  // layers that earlier "auto" stages will take
  for (size_t s = 0; s < plan.stages.size(); ++s) {
    const StagePlan& st = plan.stages[s];
    if (st.train == TrainGroup::Lora)
      for (LoraTarget t : st.lora.targets) {
        const auto [K, N] = lora_target_dims(teacher, t);
        DS_CHECK(st.lora.rank <= std::min(K, N), "[distill] stage ", s, ": LoRA rank ", st.lora.rank,
                 " is larger than the projection ", lora_target_name(t), " (", K, " x ", N, ")");
      }
    if (st.auto_count > 0) {
      ModelConfig now = teacher;
      now.hybrid.layers.resize(size_t(teacher.n_layers));
      for (int l = 0; l < teacher.n_layers; ++l)
        now.hybrid.layers[size_t(l)] = converted_in[size_t(l)] >= 0 ? st.mixer : teacher.layer_kind(l);
      const int available = int(auto_candidates(plan, s, now).size()) - auto_pending;
      DS_CHECK(st.auto_count <= available, "[distill] stage ", s, " converts ", st.auto_count,
               " layers by importance, but only ", std::max(available, 0),
               " attention layers are left for it (not converted before, not listed by a later stage)");
      auto_pending += st.auto_count;
      continue;
    }
    for (int l : st.layers) {
      DS_CHECK(l >= 0 && l < teacher.n_layers, "[distill] stage ", s, " converts layer ", l, ", but the teacher has ",
               teacher.n_layers, " layers (0..", teacher.n_layers - 1, ")");
      DS_CHECK(converted_in[size_t(l)] != int(s), "[distill] stage ", s, " lists layer ", l, " twice");
      DS_CHECK(converted_in[size_t(l)] < 0, "[distill] stage ", s, " converts layer ", l,
               " again: stage ", converted_in[size_t(l)], " already converts it");
      DS_CHECK(teacher.layer_kind(l) == LayerKind::Attention, "[distill] stage ", s, " converts layer ", l,
               ", which is already ", layer_kind_name(teacher.layer_kind(l)), " in the teacher");
      converted_in[size_t(l)] = int(s);
    }
  }
}

std::vector<int> auto_candidates(const DistillPlan& plan, size_t stage, const ModelConfig& student) {
  std::set<int> later;
  for (size_t s = stage + 1; s < plan.stages.size(); ++s) later.insert(plan.stages[s].layers.begin(), plan.stages[s].layers.end());
  std::vector<int> c;
  for (int l = 0; l < student.n_layers; ++l)
    if (student.layer_kind(l) == LayerKind::Attention && !later.count(l)) c.push_back(l);
  return c;
}

std::vector<LossTerm> stage_losses(const StageLoss& loss, int n_layers) {
  std::vector<LossTerm> t;
  if (loss.reverse_kl > 0) t.push_back({LossTerm::KlReverse, loss.reverse_kl, loss.temperature});
  if (loss.forward_kl > 0) t.push_back({LossTerm::KlForward, loss.forward_kl, loss.temperature});
  if (loss.ce > 0) t.push_back({LossTerm::CrossEntropy, loss.ce});
  if (loss.hidden > 0)
    for (int l = 0; l < n_layers; ++l) t.push_back({LossTerm::HiddenMse, loss.hidden, 1.0f, l});
  return t;
}

}  // namespace ds::train
