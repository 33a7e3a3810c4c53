// Bandwidth probe: read and copy passes timed with timestamps; medians reported.
#include "ops/bandwidth.h"

#include <algorithm>
#include <vector>

#include "distilscope/device.h"
#include "ops/push.h"
#include "vk/memory.h"
#include "vk/recorder.h"
#include "vk/submit.h"

namespace ds {

BandwidthResult measure_bandwidth(Device& dev, uint64_t bytes, int reps) {
  bytes = std::min<uint64_t>(bytes, dev.props().limits.maxStorageBufferRange);
  bytes = std::min<uint64_t>(bytes, dev.info().device_local_bytes / 4);
  bytes &= ~uint64_t(15);
  vk::Arena arena(dev, "bandwidth probe", vk::MemoryKind::DeviceLocal, bytes);
  auto src = arena.alloc(bytes, "bandwidth src");
  auto dst = arena.alloc(bytes, "bandwidth dst");
  const uint32_t groups = 1024;
  auto sink = arena.alloc(groups * 4, "bandwidth sink");
  push::BandwidthPush pc{uint32_t(bytes / 16), 0};
  auto& p = dev.pipeline("bandwidth", 3, sizeof pc);
  {  // defined contents
    vk::OneShot init(dev);
    vk::Recorder r(dev, init.cmd());
    r.fill(src, 0x3f800000u);
    init.submit_and_wait();
  }
  vk::Profiler prof(dev);
  vk::Recording rec(dev);
  BandwidthResult out;
  out.bytes = bytes;
  for (uint32_t mode = 0; mode < 2; ++mode) {
    pc.copy = mode;
    rec.begin();
    prof.reset(rec.cmd(), uint32_t(2 * reps + 2));
    vk::Recorder r(dev, rec.cmd(), &prof);
    for (int i = 0; i < reps + 1; ++i) {  // first pass warms up
      r.dispatch(p, {src, dst, sink}, 0b110, &pc, groups, 1, 1, "bandwidth");
      r.barrier();
    }
    rec.end();
    rec.submit_and_wait();
    auto t = prof.read();
    std::vector<double> ms;
    for (size_t i = 1; i < t.size(); ++i) ms.push_back(t[i].ms);
    std::sort(ms.begin(), ms.end());
    double med = ms[ms.size() / 2];
    double moved = double(bytes) * (mode ? 2.0 : 1.0);
    (mode ? out.copy_gbs : out.read_gbs) = moved / (med * 1e-3) / 1e9;
  }
  return out;
}

}  // namespace ds
