#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the whole test suite: installs what is missing,
# builds (release, tests on), runs every test with Vulkan validation layers on (lavapipe when there
# is no GPU). Any validation message fails the test that caused it.
source "$(dirname "$0")/lib.sh"
ds_install_deps
ds_build release
cd "$DS_ROOT/build/release"
ctest --output-on-failure -j "$(nproc)" --timeout 1200
