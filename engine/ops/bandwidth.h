// Measures the device's memory bandwidth with a streaming kernel and GPU timestamps, so benchmarks
// can state their fraction of what this device really reaches (not a datasheet figure).
#pragma once
#include <cstdint>

namespace ds {
class Device;

struct BandwidthResult {
  double read_gbs = 0;   // bytes read per second / 1e9 (median)
  double copy_gbs = 0;   // (bytes read + written) per second / 1e9 (median)
  uint64_t bytes = 0;    // buffer size used
};

// Streams a buffer of `bytes` (capped by device limits) `reps` times in each mode.
BandwidthResult measure_bandwidth(Device& dev, uint64_t bytes, int reps = 7);

}  // namespace ds
