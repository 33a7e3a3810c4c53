// Sampling helpers shared by sample_argmax.comp and sample_full.comp. Unless SAMPLE_NO_LOGITS is
// defined, the including shader declares `logits[]` (F32 [vocab]) and the state buffer
// `{ SampleStep st; uint penalized[]; }` before including this file.
#define NEG_INF uintBitsToFloat(0xff800000u)
const uint NO_ID = 0xffffffffu;

#ifndef SAMPLE_NO_LOGITS
// The logit after the repetition penalty; NaN counts as -inf.
float penalized_logit(uint i) {
  float l = logits[i];
  if (isnan(l)) return NEG_INF;
  if (st.use_penalty != 0u && ((penalized[i >> 5u] >> (i & 31u)) & 1u) != 0u)
    l = l > 0.0 ? l * st.inv_penalty : l * st.penalty;
  return l;
}
#endif
