// Test support: one shared Device per test binary (validation layers on), random data, and tensor
// helpers. Any validation message during a test fails that test (see tests/support/main.cpp).
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "distilscope/device.h"
#include "util/error.h"
#include "ops/tensor.h"
#include "vk/memory.h"
#include "vk/recorder.h"
#include "vk/submit.h"

namespace ds::test {

Device& device();      // opened once, with validation on
vk::Arena& arena();    // scratch arena for tests, reset between tests
void reset_arena();    // waits for the device to be idle first

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// Allocates a tensor and fills it from f32 values (converted to `type`).
Tensor tensor_from(const std::vector<float>& values, DType type, std::array<int64_t, 4> ne, const std::string& name);
Tensor empty_tensor(DType type, std::array<int64_t, 4> ne, const std::string& name);

// Records with `body` into a one-shot command buffer, submits and waits.
template <class F>
void run(F&& body) {
  vk::OneShot cmd(device());
  vk::Recorder rec(device(), cmd.cmd());
  body(rec);
  cmd.submit_and_wait();
}

// ../shared (next to the repository) or DS_SHARED_DIR; empty path when absent.
std::filesystem::path shared_dir();
// Skips the current test with a clear message when ../shared/<rel> is missing.
#define DS_REQUIRE_SHARED(rel, var)                                                              \
  auto var = ::ds::test::shared_dir() / (rel);                                                   \
  if (::ds::test::shared_dir().empty() || !std::filesystem::exists(var))                         \
  GTEST_SKIP() << "shared test data not found: " << (rel)                                        \
               << " (expected in ../shared next to the repository, or set DS_SHARED_DIR)"

}  // namespace ds::test
