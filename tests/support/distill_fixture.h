// Test support for staged distillation: a plan parsed from JSON text, and a tiny synthetic teacher (3 layers,
// d_model 32) with a small repetitive text corpus written to a temporary directory.
#pragma once
#include <fstream>
#include <string>

#include "model/synthetic.h"
#include "support/files.h"
#include "train/distill_plan.h"
#include "util/json_parse.h"

namespace ds::test {

inline train::DistillPlan plan_of(const std::string& json) {
  const JsonDocument d{"plan.json", parse_json(json, "plan.json")};
  train::DistillPlan p = train::parse_distill_plan(d, "");
  p.json = json;
  return p;
}

struct TinyDistillTeacher {
  TempDir dir;
  std::string teacher, corpus;
  TinyDistillTeacher() {
    teacher = (dir / "teacher.gguf");
    ModelConfig c = llama_like(3, 32, 4, 2, 64, 300);
    c.context_train = 256;
    write_synthetic_model(teacher, {c, DType::F32, 5, 0.1f});
    corpus = (dir / "corpus.txt");
    std::ofstream f(corpus);
    for (int i = 0; i < 60; ++i)
      f << "In the beginning " << i << " was the word, and the word was " << i * 7 << ".\n\n";
  }
};

}  // namespace ds::test
