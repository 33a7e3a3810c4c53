// The input x of the matmul kernels (binding 1): F32, or F16 with -DX_F16 (prefill activations written in half
// precision by the op before them; the kernels compute in F32 either way). x_at(i): value i; x_vec4(i): values
// 4i .. 4i + 3.
#if defined(X_F16)
layout(set = 0, binding = 1) readonly buffer XH { float16_t x_h[]; };
layout(set = 0, binding = 1) readonly buffer XH4 { f16vec4 x_h4[]; };
float x_at(uint i) { return float(x_h[i]); }
vec4 x_vec4(uint i) { return vec4(x_h4[i]); }
#else
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
float x_at(uint i) { return x[i]; }
vec4 x_vec4(uint i) { return x4[i]; }
#endif
