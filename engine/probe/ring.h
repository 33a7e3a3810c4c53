// Capture ring: a device buffer of N frames, one per token step, laid out by a FrameLayout. The capture
// kernels of a recording write the frame at the slot read from a small host-written frame-index buffer,
// so a decode step recorded once fills a new frame at every replay. Reading is asynchronous, with no host
// sync per op: the frames of finished steps are read from host-visible memory, either the ring itself
// (UMA / CPU devices) or a host mirror that record_publish() fills with one copy at the end of the step,
// in the same submit. The host reads frame `seq` after that step's fence, which it waits for anyway, and
// may read it while later steps run, until n_frames - 1 further steps have been submitted.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "probe/capture_plan.h"
#include "probe/frame.h"
#include "probe/span.h"
#include "vk/memory.h"

namespace ds {
class Device;
namespace vk {
class Recorder;
}
namespace probe {

struct RingOptions {
  uint32_t n_frames = 64;     // >= 2
  bool force_mirror = false;  // use a host mirror even when the ring is host-visible (tests the copy path)
};

class Ring {
 public:
  Ring(Device& dev, FrameLayout layout, const RingOptions& opts = {});

  const FrameLayout& layout() const { return layout_; }
  uint32_t n_frames() const { return n_frames_; }
  bool mirrored() const { return mirror_.size() > 0; }
  const vk::BufferSlice& index() const { return index_slice_; }  // bind to every capture kernel
  Span at(uint32_t section_words) const { return {ring_.slice(), section_words, layout_.frame_words}; }

  // Host, before each submit of a capturing recording (when the previous one has finished, like the step
  // tensor): advances to the next frame slot, writes {slot, seq, tag, 0} to the index buffer and returns
  // the step's sequence number (1, 2, ...).
  uint32_t begin_step();
  uint32_t last_seq() const { return seq_; }

  // Recording: the header first (step: I32 {n_past, n_tokens, ..}; ids: I32 token ids or empty), and the
  // publish copy after every other capture op of the step (a no-op without a mirror).
  void record_header(vk::Recorder& rec, const Tensor& step, const Tensor& ids) const;
  void record_publish(vk::Recorder& rec) const;

  // After step `seq` completed: its frame, parsed in place from host-visible memory; nullopt when it was
  // overwritten (seq is n_frames or more behind) or never written. Checks the header before and after.
  std::optional<Frame> frame(uint32_t seq) const;

 private:
  const uint8_t* host_frames() const;
  const uint8_t* slot(uint32_t seq) const;  // frame `seq`'s host bytes, or null if out of the ring's window

  FrameLayout layout_;
  uint32_t n_frames_;
  uint32_t seq_ = 0;
  vk::Buffer ring_, mirror_, index_;
  vk::BufferSlice index_slice_;
};

}  // namespace probe
}  // namespace ds
