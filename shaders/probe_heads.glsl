// Captured heads of a probe kernel: the i-th set bit of the 128-bit mask p.head_mask0..3 (ascending heads).
// Include after the push-constant block `p` whose struct has the four mask words.
uint captured_head(uint i) {
  uint masks[4] = uint[4](p.head_mask0, p.head_mask1, p.head_mask2, p.head_mask3);
  for (uint w = 0; w < 4; ++w) {
    uint m = masks[w];
    uint n = bitCount(m);
    if (i < n) {
      for (; i > 0; --i) m &= m - 1;
      return w * 32 + findLSB(m);
    }
    i -= n;
  }
  return 0;
}
