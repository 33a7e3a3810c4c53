// Shared device for the tests and small helpers.
#include "support/gpu.h"

#include <cstdlib>

namespace ds::test {

Device& device() {
  static std::unique_ptr<Device> dev = [] {
    DeviceOptions o;
    o.validation = std::getenv("DS_NO_VALIDATION") == nullptr;
    o.select = std::getenv("DS_DEVICE") ? std::getenv("DS_DEVICE") : "";
    return Device::open(o);
  }();
  return *dev;
}

namespace {
std::unique_ptr<vk::Arena>& arena_ptr() {
  static std::unique_ptr<vk::Arena> a;
  return a;
}
}  // namespace

vk::Arena& arena() {
  auto& a = arena_ptr();
  if (!a) a = std::make_unique<vk::Arena>(device(), "tests", vk::MemoryKind::DeviceLocal, 64ull << 20);
  return *a;
}

void reset_arena() {
  auto& a = arena_ptr();
  if (!a) return;
  vkDeviceWaitIdle(device().handle());
  a->reset();
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

Tensor tensor_from(const std::vector<float>& values, DType type, std::array<int64_t, 4> ne, const std::string& name) {
  Tensor t = make_tensor(arena(), type, ne, name);
  upload_f32(device(), t, values);
  return t;
}

Tensor empty_tensor(DType type, std::array<int64_t, 4> ne, const std::string& name) {
  return make_tensor(arena(), type, ne, name);
}

std::filesystem::path shared_dir() {
  if (const char* e = std::getenv("DS_SHARED_DIR"); e && *e) return e;
  auto p = std::filesystem::path(DS_SOURCE_DIR) / ".." / "shared";
  if (std::filesystem::exists(p)) return std::filesystem::canonical(p);
  return {};
}

}  // namespace ds::test
