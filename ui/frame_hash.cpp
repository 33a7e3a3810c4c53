// Draw-data fingerprint: 8 bytes at a time through a multiply-xorshift mix (a few GB/s).
#include "ui/frame_hash.h"

#include <imgui.h>

#include <cstring>

namespace ds::ui {

namespace {
struct Hasher {
  uint64_t h = 0x9E3779B97F4A7C15ull;
  void mix(uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t v;
      std::memcpy(&v, b + i, 8);
      mix(v);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, b + i, n - i);
    mix(tail ^ n);
  }
};
}  // namespace

uint64_t hash_draw_data(const ImDrawData* d) {
  Hasher h;
  if (!d) return 0;
  h.bytes(&d->DisplaySize, sizeof d->DisplaySize);
  h.bytes(&d->FramebufferScale, sizeof d->FramebufferScale);
  for (int n = 0; n < d->CmdListsCount; ++n) {
    const ImDrawList* l = d->CmdLists[n];
    h.bytes(l->VtxBuffer.Data, size_t(l->VtxBuffer.Size) * sizeof(ImDrawVert));
    h.bytes(l->IdxBuffer.Data, size_t(l->IdxBuffer.Size) * sizeof(ImDrawIdx));
    for (const ImDrawCmd& c : l->CmdBuffer) {
      h.bytes(&c.ClipRect, sizeof c.ClipRect);
      h.mix(uint64_t(c.ElemCount) << 32 | c.IdxOffset);
      h.mix(c.VtxOffset);
    }
  }
  return h.h;
}

}  // namespace ds::ui
