#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running DistilScope: installs what is missing,
# builds (release), and generates text with the embedded default model (or tells you what to open).
# Extra arguments go to `distilscope-cli run`, e.g. scripts/run.sh path/to/model.gguf -p "Hello".
source "$(dirname "$0")/lib.sh"
ds_install_deps
ds_build release
exec "$DS_ROOT/build/release/app/cli/distilscope-cli" run "$@"
