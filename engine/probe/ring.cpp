// Capture ring: frame slots, the index buffer, header/publish recording and host reads.
#include "probe/ring.h"

#include <cstring>

#include "distilscope/device.h"
#include "probe/frame_ops.h"
#include "util/error.h"

namespace ds::probe {

Ring::Ring(Device& dev, FrameLayout layout, const RingOptions& opts)
    : layout_(std::move(layout)), n_frames_(opts.n_frames) {
  DS_CHECK(n_frames_ >= 2, "[ring] ", n_frames_, " frames: a ring needs at least 2");
  const uint64_t bytes = layout_.frame_bytes() * n_frames_;
  const uint64_t range = dev.props().limits.maxStorageBufferRange;
  DS_CHECK(bytes <= range, "[ring] ", n_frames_, " frames of ", format_bytes(double(layout_.frame_bytes())), " = ",
           format_bytes(double(bytes)), " exceed the device's storage-buffer range of ", format_bytes(double(range)),
           ": use fewer frames, layers, heads or a shorter max_context");
  DS_CHECK(uint64_t(layout_.frame_words) * n_frames_ < (1ull << 32), "[ring] ring of over 2^32 words");
  ring_ = vk::Buffer(dev, bytes, vk::MemoryKind::DeviceLocal, "probe ring");
  // Read in place only on UMA / CPU devices: a host-visible ring on a discrete GPU is BAR memory, which
  // the host reads uncached, slowly.
  const bool in_place = ring_.host_visible() && dev.info().type != "discrete";
  if (opts.force_mirror || !in_place)
    mirror_ = vk::Buffer(dev, bytes, vk::MemoryKind::Readback, "probe ring mirror");
  index_ = vk::Buffer(dev, 16, vk::MemoryKind::Upload, "probe frame index");
  index_slice_ = index_.slice();
  std::memset(index_slice_.mapped, 0, 16);
}

uint32_t Ring::begin_step() {
  ++seq_;
  if (seq_ == 0) seq_ = 1;  // 0 means "never written"
  const uint32_t words[4] = {(seq_ - 1) % n_frames_, seq_, layout_.tag, 0};
  std::memcpy(index_slice_.mapped, words, sizeof words);
  return seq_;
}

void Ring::record_header(vk::Recorder& rec, const Tensor& step, const Tensor& ids) const {
  write_header(rec, step, ids, uint32_t(layout_.plan.max_queries), index_slice_, at(0));
}

void Ring::record_publish(vk::Recorder& rec) const {
  if (!mirrored()) return;
  copy_words(rec, at(0), {mirror_.slice(), 0, layout_.frame_words}, layout_.frame_words, index_slice_);
}

const uint8_t* Ring::host_frames() const { return mirrored() ? mirror_.slice().mapped : ring_.slice().mapped; }

namespace {
bool header_is(const uint8_t* base, uint32_t seq) {
  uint32_t h[2];
  std::memcpy(h, base, sizeof h);
  return h[HdrMagic] == k_frame_magic && h[HdrSeq] == seq;
}
}  // namespace

const uint8_t* Ring::slot(uint32_t seq) const {
  if (seq == 0 || seq > seq_ || seq_ - seq >= n_frames_) return nullptr;
  return host_frames() + uint64_t((seq - 1) % n_frames_) * layout_.frame_bytes();
}

// Parsed in place from the mapped memory (no copy of the whole frame first: at long contexts a frame is
// megabytes of attention rows, and the copy was half of the host's cost per token); the header is checked
// again afterwards, so a frame overwritten while being parsed is dropped.
std::optional<Frame> Ring::frame(uint32_t seq) const {
  const uint8_t* base = slot(seq);
  if (!base || !header_is(base, seq)) return std::nullopt;
  Frame f = parse_frame(layout_, {reinterpret_cast<const uint32_t*>(base), layout_.frame_words});
  if (!header_is(base, seq) || f.seq != seq) return std::nullopt;
  return f;
}

}  // namespace ds::probe
