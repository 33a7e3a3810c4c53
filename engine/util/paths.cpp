// Asset discovery: environment override, then next to the executable, then the source tree.
#include "util/paths.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

namespace ds {

namespace fs = std::filesystem;

std::optional<std::string> assets_dir() {
  if (const char* e = std::getenv("DS_ASSETS_DIR"); e && *e && fs::is_directory(e)) return std::string(e);
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    fs::path dir = fs::path(exe).parent_path();
    for (fs::path cand : {dir / "../share/distilscope/assets", dir / "assets"})
      if (fs::is_directory(cand)) return fs::canonical(cand).string();
  }
#ifdef DS_SOURCE_ASSETS
  if (fs::is_directory(DS_SOURCE_ASSETS)) return std::string(DS_SOURCE_ASSETS);
#endif
  return std::nullopt;
}

std::optional<std::string> default_model(const std::string& role) {
  auto dir = assets_dir();
  if (!dir) return std::nullopt;
  fs::path p = fs::path(*dir) / "models" / (role + ".gguf");
  if (fs::is_regular_file(p)) return p.string();
  return std::nullopt;
}

std::string no_model_message() {
  return "no model given and no default model is installed in assets/models/.\n"
         "Give a GGUF file (llama, Mistral-style or qwen2; F32/F16/BF16/Q8_0/Q4_0), for example:\n"
         "  distilscope-cli run path/to/model.gguf -p \"Once upon a time\"\n"
         "A tiny real model for trying it out: stories260K.gguf (llama2.c's TinyStories model).";
}

}  // namespace ds
