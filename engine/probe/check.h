// Checks shared by the probe dispatchers: spans that hold their words, the frame-index buffer.
#pragma once
#include <cstdint>

#include "probe/span.h"
#include "util/error.h"

namespace ds::probe {

// The first frame's [offset, offset + words) lies inside the span's buffer (a ring sizes the others).
inline void check_span(const char* op, const char* what, const Span& s, uint64_t words) {
  DS_CHECK(bool(s.buf), "[", op, "] ", what, " has no buffer");
  DS_CHECK((uint64_t(s.offset) + words) * 4 <= s.buf.size, "[", op, "] ", what, ": words [", s.offset, ", ",
           uint64_t(s.offset) + words, ") overrun its buffer of ", s.buf.size / 4, " words");
}

inline void check_index(const char* op, const vk::BufferSlice& index) {
  DS_CHECK(bool(index) && index.size >= 16, "[", op, "] the frame-index buffer must hold 4 words");
}

}  // namespace ds::probe
