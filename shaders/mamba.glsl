// Shared by the Mamba kernels (mamba_scan.comp, mamba_train.comp): the activations as the reference kernels
// compute them and the in_proj row layout of a channel. Needs the spec constant D_STATE and a push block `p`
// with d_inner, d_xb and repeat (heads per x/B group).
float silu(float v) { return v / (1.0 + exp(-v)); }
// as the reference kernels: identity above 20; exp(v) where 1 + exp(v) would round to 1
float softplus(float v) { return v > 20.0 ? v : (v < -15.0 ? exp(v) : log(1.0 + exp(v))); }

uint rows() { return 2u * p.d_inner + 2u * p.d_xb; }
uint group_of(uint c) { return (c / D_STATE) / p.repeat; }
uint x_row(uint c) { return p.d_inner + group_of(c) * D_STATE + c % D_STATE; }
uint b_row(uint c) { return p.d_inner + p.d_xb + group_of(c) * D_STATE; }
uint c_row(uint c) { return p.d_inner + 2u * p.d_xb + (c / D_STATE) * D_STATE; }
