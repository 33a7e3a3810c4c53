// L2 prefetch (ops/prefetch.h, shaders/l2_prefetch.comp): it reads and changes nothing — the weights and the
// sink keep their bytes — and decode with it recorded next to attention gives bit-identical logits.
#include <gtest/gtest.h>

#include <filesystem>

#include "distilscope/model.h"
#include "distilscope/session.h"
#include "model/synthetic.h"
#include "ops/prefetch.h"
#include "support/gpu.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

TEST(L2Prefetch, ReadsWithoutWriting) {
  const auto values = test::random_floats(100000, 5);
  Tensor w = test::tensor_from(values, DType::F16, {1000, 100, 1, 1}, "w");
  const std::vector<float> sink0 = {1, 2, 3, 4};
  Tensor sink = test::tensor_from(sink0, DType::F32, {4, 1, 1, 1}, "sink");
  const auto before = download_f32(test::device(), w);
  test::run([&](vk::Recorder& r) {
    ops::l2_prefetch(r, w, size_t(1) << 30, sink);  // more than the tensor: clamped to its 200,000 bytes
    ops::l2_prefetch(r, w, 4096, sink);             // two prefetches overlap: no barrier between them
    ops::l2_prefetch(r, w, 8, sink);                // under 16 bytes: nothing recorded
    EXPECT_EQ(r.barrier_count(), 0u);
    EXPECT_EQ(r.dispatch_count(), 2u);
  });
  EXPECT_EQ(download_f32(test::device(), w), before);
  EXPECT_EQ(download_f32(test::device(), sink), sink0);
}

TEST(L2Prefetch, RejectsATooSmallSink) {
  Tensor w = test::tensor_from(test::random_floats(64, 1), DType::F32, {64, 1, 1, 1}, "w");
  Tensor sink = test::empty_tensor(DType::F16, {1, 1, 1, 1}, "tiny_sink");
  try {
    test::run([&](vk::Recorder& r) { ops::l2_prefetch(r, w, 256, sink); });
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tiny_sink"), std::string::npos) << e.what();
  }
}

std::vector<std::vector<float>> decode_logits(Model& model, int prefetch_mb) {
  SessionOptions o{256};
  o.small_layers = false;
  o.decode_prefetch_mb = prefetch_mb;
  Session s(model, o);
  s.prefill(std::vector<int32_t>{1, 40, 41, 42, 200, 7, 9}, false);
  std::vector<std::vector<float>> out;
  for (int32_t tok : {7, 250, 3, 99}) {
    s.decode(tok, false);
    out.push_back(s.logits());
  }
  return out;
}

TEST(L2Prefetch, DecodeLogitsUnchanged) {
  SyntheticSpec spec;
  spec.config = llama_like(3, 128, 4, 2, 256, 300);
  spec.type = DType::F16;
  spec.scale = 0.08f;
  spec.seed = 3;
  const auto path = fs::temp_directory_path() / "distilscope-tests" / "prefetch_decode.gguf";
  fs::create_directories(path.parent_path());
  write_synthetic_model(path.string(), spec);
  auto model = Model::load(test::device(), path.string());
  // 1 MiB: the output projection (32 KiB here) and part of gate/up; 0: none.
  EXPECT_EQ(decode_logits(*model, 1), decode_logits(*model, 0));
}

}  // namespace
}  // namespace ds
