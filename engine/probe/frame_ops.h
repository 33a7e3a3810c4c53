// Frame plumbing kernels (shaders/probe_copy.comp): framed word copies (publishing a ring frame to the
// host mirror, saving a residual vector into a frame) and the frame header.
#pragma once
#include <cstdint>

#include "probe/span.h"

namespace ds {
namespace vk {
class Recorder;
}
namespace probe {

constexpr uint32_t k_frame_magic = 0x46505344u;  // "DSPF" little-endian
constexpr uint32_t k_header_words = 16;

// Header words of a frame (then max_queries token ids, -1 past the batch).
enum HeaderWord : uint32_t { HdrMagic = 0, HdrSeq = 1, HdrNPast = 2, HdrNTokens = 3, HdrTag = 4, HdrSlot = 5 };

// dst[i] = src[i] for i < n words.
void copy_words(vk::Recorder& rec, const Span& src, const Span& dst, uint32_t n, const vk::BufferSlice& index);

// Writes the header at dst (k_header_words) and the first max_queries ids of the batch after it.
// step: I32 {n_past, n_tokens, ...}; ids: I32 [n] or empty (ids then read as -1).
void write_header(vk::Recorder& rec, const Tensor& step, const Tensor& ids, uint32_t max_queries,
                  const vk::BufferSlice& index, const Span& dst);

}  // namespace probe
}  // namespace ds
