// Where DistilScope finds its shipped assets (default models) and keeps user data.
#pragma once
#include <optional>
#include <string>

namespace ds {

// assets/ of the source tree or of an install (<exe>/../share/distilscope/assets); DS_ASSETS_DIR overrides.
std::optional<std::string> assets_dir();
// The embedded default model for a role ("teacher"; students later), if present in assets/models/.
std::optional<std::string> default_model(const std::string& role = "teacher");
// A one-paragraph explanation for when no model was given and no default exists.
std::string no_model_message();

}  // namespace ds
