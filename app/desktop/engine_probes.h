// The worker's use of the engine's probes (docs/probes.md): which layers and heads are captured by
// default (all of a small model, a bounded few of a big one, so decode stays within ~15% of plain),
// the capture plan for a session, and capture frames turned into ProbeStep values for the GUI.
// Engine types only, plus the value structs of engine_types.h; runs on the worker thread.
#pragma once
#include <string>
#include <vector>

#include "app/desktop/engine_types.h"
#include "probe/capture_plan.h"

namespace ds::probe {
struct Frame;
}

namespace ds::app {

// All layers when the model is small (d_model <= 512 and at most 32 layers), else the middle and
// the last layer.
std::vector<int> default_probe_layers(const ModelConfig& c);
bool default_logit_lens(const ModelConfig& c);  // small models only (the lens reads the lm head per layer)

// Query tokens per captured prefill pass: the session's prefill batch while probes are on, so every
// prompt token is captured. Bounded so that the prefill ring stays under ~256 MiB.
int probe_batch(const ModelConfig& c, const ProbeSettings& s, int n_ctx);

// The plan for a session of n_ctx positions (validated by the session: a layer out of range is a
// readable error).
probe::CapturePlan make_probe_plan(const ModelConfig& c, const ProbeSettings& s, int n_ctx);
// A fingerprint of what a plan captures: a session keeps its plan while this stays the same.
std::string plan_key(const probe::CapturePlan& p);

// One frame as a ProbeStep. `context` holds the ids by position (prompt then generated), used where
// the frame has none.
ProbeStep to_probe_step(probe::Frame&& f, const std::vector<int32_t>& context, uint64_t request, int role,
                        const ModelReport& model);

// Splits streamed token bytes into complete UTF-8 text: push() returns what is complete, keeping a
// character split over tokens until its last byte comes.
class Utf8Joiner {
 public:
  std::string push(std::string_view bytes);
  std::string flush();  // whatever is left (an incomplete character's bytes)

 private:
  std::string pending_;
};

}  // namespace ds::app
