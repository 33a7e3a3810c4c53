#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running DistilScope: installs what is missing, builds
# (release), and opens the desktop app on the embedded default models (assets/models/). Without a display
# (no $DISPLAY / $WAYLAND_DISPLAY) it generates text with the CLI instead. Extra arguments go to the app
# (a model file or HF folder) or, without a display, to `distilscope-cli run` (e.g. -p "Hello").
source "$(dirname "$0")/lib.sh"
ds_install_deps
ds_build release
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$DS_ROOT/build/release/app/desktop/distilscope" "$@"
fi
echo "no display: generating with the CLI (distilscope-cli run; the desktop app needs X11 or Wayland)" >&2
[ $# -eq 0 ] && set -- -p "And it came to pass" -n 64
exec "$DS_ROOT/build/release/app/cli/distilscope-cli" run "$@"
