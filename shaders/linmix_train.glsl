// Shared by the training linear-mixer tile kernels (linmix_train.comp, linmix_train_backward_{dq,dkv}.comp):
// B x B threads, shared tiles of B token rows (padded by one float against bank conflicts), dot products of tile
// rows, the window/linear factors and the indexing. Whole sequences from position 0: query t of head h sees keys
// 0 .. t of its sequence (kv head h / (n_heads / n_kv); key map / state head h / (n_heads / n_state)); keys
// t - N < j <= t are in its softmax window, older ones in the linear part. Include after the buffer declarations
// (needs `window_logit`).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;   // = B * B
layout(constant_id = 1) const uint HD = 64;   // head_dim
layout(constant_id = 2) const uint FF = 128;  // 2F: entries of phi
layout(constant_id = 3) const uint B = 8;     // query rows and keys per tile
const uint STRIDE = HD + 1, PSTRIDE = FF + 1;
const uint DPT = (HD + B - 1) / B;  // head_dim entries per thread in the accumulation phase
const uint FPT = (FF + B - 1) / B;  // phi entries per thread
const float MASKED = -1.0e30;

// Element e of token t (sequence seq) of head h, in a tensor of n_h heads of len entries per token.
uint at(uint seq, uint t, uint h, uint n_h, uint len, uint e) { return ((seq * p.n_tokens + t) * n_h + h) * len + e; }
// Per-row values ([n_heads, n_tokens, n_seqs] blocks): block `which` of stats (m, den, argmax) or rows.
uint row_at(uint which, uint seq, uint t, uint h) { return ((which * p.n_seqs + seq) * p.n_tokens + t) * p.n_heads + h; }

bool in_window(uint tq, uint tk) { return int(tk) > int(tq) - int(p.window); }

// wf = sigmoid(logit) (1 without logits), lf = 1 - wf (affine) or 1; N = 0: wf = 0, lf = 1.
void factors(uint h, out float wf, out float lf) {
  wf = p.window == 0 ? 0.0 : ((p.flags & LINMIX_WINDOW_FACTOR) != 0 ? 1.0 / (1.0 + exp(-window_logit[h])) : 1.0);
  lf = (p.window != 0 && (p.flags & LINMIX_AFFINE) != 0) ? 1.0 - wf : 1.0;
}

// Loads B rows (tokens t0 ..) of head h of src into tile, each entry times `factor` (an expression of the row r_);
// zeros past n_tokens.
#define LOAD_TILE(tile, src, seq, t0, h, n_h, len, stride, factor)                                   \
  for (uint idx_ = gl_LocalInvocationID.x; idx_ < B * (len); idx_ += WG) {                            \
    const uint r_ = idx_ / (len), e_ = idx_ % (len);                                                  \
    tile[r_ * (stride) + e_] = (t0) + r_ < p.n_tokens ? src[at(seq, (t0) + r_, h, n_h, len, e_)] * (factor) : 0.0; \
  }

// DEFINE_DOT(a, b, len, stride) defines dot_a_b(ra, rb): row ra of shared tile a times row rb of tile b.
#define DEFINE_DOT(a, b, len, stride)                                                   \
  float dot_##a##_##b(uint ra, uint rb) {                                               \
    float s_ = 0.0;                                                                     \
    for (uint e_ = 0; e_ < (len); ++e_) s_ += a[ra * (stride) + e_] * b[rb * (stride) + e_]; \
    return s_;                                                                          \
  }
