# Shared by scripts/*.sh: installs the Debian packages DistilScope needs (only what is missing)
# and configures + builds with CMake presets. Source it; do not run it.
set -euo pipefail
DS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

DS_PACKAGES=(
  g++ cmake ninja-build pkg-config git
  glslc libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools spirv-tools
  libcli11-dev libpcre2-dev libglm-dev libgtest-dev libsqlite3-dev zlib1g-dev libssl-dev
  bible-kjv  # the default training corpus (scripts/corpus-kjv.sh)
  # desktop app (app/desktop, ui/): Qt 6 Widgets + its SVG icon plugin, Dear ImGui (with its Vulkan
  # backend), a font with Latin/Arabic glyphs for ImGui labels, Xvfb for the end-to-end test
  qt6-base-dev qt6-base-dev-tools libqt6svg6 libimgui-dev fonts-dejavu-core xvfb xauth
  # PNG heatmaps of trace (stb_image_write)
  libstb-dev
)

ds_install_deps() {
  local missing=()
  for p in "${DS_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "[setup] all ${#DS_PACKAGES[@]} Debian packages present"
    return
  fi
  echo "[setup] installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ds_build() {  # ds_build PRESET
  local preset="${1:-release}"
  cd "$DS_ROOT"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$(nproc)"
}
