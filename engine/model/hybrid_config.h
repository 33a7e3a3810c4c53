// Hybrid layouts in GGUF: the per-layer layout key (distilscope.block_layout), the Mamba and linear mixer
// hyper-parameter keys (distilscope.ssm.*, distilscope.linear.*), their checks, and what a layout costs in
// state memory. docs/formats.md "GGUF keys" lists every key; a file without them is a teacher (all attention).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "distilscope/model_config.h"
#include "ops/linear_mixer.h"
#include "ops/mamba_dims.h"

namespace ds {

class GgufFile;
class GgufWriter;

constexpr const char* k_key_block_layout = "distilscope.block_layout";

// GGUF layout codes: "t" attention, "m2" Mamba mixer (as Apriel), "lin" linear mixer.
const char* gguf_layout_code(LayerKind k);
// CLI letters: A attention, M mamba, L linear (any case): "AALM" -> 4 layers. Throws naming the bad letter.
std::vector<LayerKind> parse_layout_letters(const std::string& letters);
std::string layout_letters(const ModelConfig& c);  // "AALM..." (all A for a teacher)

// Reads the hybrid keys into c.hybrid (c's dims already read). Without distilscope.block_layout nothing
// changes (a teacher). Throws naming the file and key: a layout whose length is not the layer count, an
// unknown code, a missing or implausible mixer hyper-parameter.
void read_hybrid_gguf(const GgufFile& f, ModelConfig& c);
// Writes the layout and the hyper-parameters of the mixers the layout uses (nothing for a teacher).
void write_hybrid_gguf(GgufWriter& w, const ModelConfig& c);

// Checks that the mixer hyper-parameters fit the model and the kernels; `where` prefixes the error.
void check_hybrid_config(const ModelConfig& c, const std::string& where);

ops::LinearMixerShape linear_mixer_shape(const ModelConfig& c);
MambaDims mamba_dims(const ModelConfig& c);

// Memory of a session: KV cache bytes per context position (attention layers only, F16 K and V) and
// the mixer layers' fixed-size states (independent of the context length).
uint64_t kv_bytes_per_token(const ModelConfig& c);
uint64_t mixer_state_bytes(const ModelConfig& c);

}  // namespace ds
