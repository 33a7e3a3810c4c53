// Span: where a probe kernel reads or writes 32-bit words. A buffer, a word offset, and frame_words, the
// distance between ring frames: the kernel adds slot * frame_words, the slot being read on the GPU from
// the frame-index buffer (uint {slot, seq, tag, 0}, host-written before each submit), so one recording
// writes a new frame every time it is replayed. frame_words 0 = a plain buffer (slot ignored).
#pragma once
#include <cstdint>

#include "ops/tensor.h"
#include "vk/memory.h"

namespace ds::probe {

struct Span {
  vk::BufferSlice buf;
  uint32_t offset = 0;       // words from the start of buf (slot 0)
  uint32_t frame_words = 0;  // words between consecutive frames; 0 = not framed

  static Span plain(const Tensor& t) { return {t.buf, 0, 0}; }
  Span plus(uint32_t words) const { return {buf, offset + words, frame_words}; }
};

}  // namespace ds::probe
