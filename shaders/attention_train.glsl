// Shared by the training attention kernels (attention_train.comp, attention_backward_{dq,dkv}.comp):
// tile size, shared Q/K/V-like tiles of B rows x head_dim (rows padded by one float against bank
// conflicts), and the tensor indexing. Causal GQA within each sequence: query t of head h sees keys
// 0 .. t of kv head h / (n_heads / n_kv); workgroups are (block of B rows, head, sequence).
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;  // = B * B
layout(constant_id = 1) const uint HD = 64;   // head_dim
layout(constant_id = 2) const uint B = 16;    // query rows and keys per tile
const uint STRIDE = HD + 1;
const uint DPT = (HD + B - 1) / B;  // head_dim entries per thread in the accumulation phase
const float MASKED = -1.0e30;

layout(push_constant) uniform Push { AttentionTrainPush p; };

// Element d of token t (within sequence `seq`) of head h, for a tensor of n_h heads.
uint at(uint seq, uint t, uint h, uint n_h, uint d) { return ((seq * p.n_tokens + t) * n_h + h) * HD + d; }
uint row_at(uint seq, uint t, uint h) { return (seq * p.n_tokens + t) * p.n_heads + h; }  // lse / delta

// Loads B rows starting at token t0 of head h of `src` into a shared tile (zeros past n_tokens).
#define LOAD_TILE(tile, src, seq, t0, h, n_h)                                                   \
  for (uint idx_ = gl_LocalInvocationID.x; idx_ < B * HD; idx_ += WG) {                         \
    const uint r_ = idx_ / HD, d_ = idx_ % HD;                                                  \
    tile[r_ * STRIDE + d_] = (t0) + r_ < p.n_tokens ? src[at(seq, (t0) + r_, h, n_h, d_)] : 0.0; \
  }

// DEFINE_DOT_ROWS(a, b) defines dot_a_b(ra, rb): row ra of shared tile a times row rb of shared tile b.
#define DEFINE_DOT_ROWS(a, b)                                          \
  float dot_##a##_##b(uint ra, uint rb) {                              \
    float s_ = 0.0;                                                    \
    for (uint d_ = 0; d_ < HD; ++d_) s_ += a[ra * STRIDE + d_] * b[rb * STRIDE + d_]; \
    return s_;                                                         \
  }
