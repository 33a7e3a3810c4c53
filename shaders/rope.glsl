// The rotation of one RoPE pair, shared by rope.comp and rope_store.comp. The angle is the float
// product float(pos) * inv_freq (as the reference computes it), reduced to [-pi, pi] in float without
// contraction, because sin/cos are only accurate there on some GPUs; 2*pi is split so that
// k * TWO_PI_HI is exact for k < 2^16 (TWO_PI_HI has 8 significant bits).
const float TWO_PI_HI = 6.28125;
const float TWO_PI_LO = 1.9353071795864769e-3;
const float INV_TWO_PI = 0.15915494309189535;

vec2 rope_cos_sin(int pos, float inv_freq) {
  precise float angle = float(pos) * inv_freq;
  precise float k = round(angle * INV_TWO_PI);
  precise float r = (angle - k * TWO_PI_HI) - k * TWO_PI_LO;
  return vec2(cos(r), sin(r));
}

// Element offsets (within a head vector) of pair i: (2i, 2i+1) interleaved, (i, i + head_dim/2) neox.
uvec2 rope_pair(uint i, uint head_dim, bool neox) {
  return neox ? uvec2(i, i + head_dim / 2) : uvec2(2 * i, 2 * i + 1);
}

vec2 rope_rotate(vec2 v, vec2 cs) { return vec2(v.x * cs.x - v.y * cs.y, v.x * cs.y + v.y * cs.x); }
