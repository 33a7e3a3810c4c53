#!/usr/bin/env bash
# End-to-end run of the real DistilScope app under Xvfb with Mesa's lavapipe and the Vulkan
# validation layers on (see app/desktop/autotest.h for what it checks). Results, screenshots and
# exports land in OUT/result (report.json, *.png). Exit 77 = skipped (model file absent).
# usage: run_e2e.sh DISTILSCOPE OUT (--synthetic | --defaults | --distill | --tour | --welcome | --missing |
#   MODEL.gguf)
#   --defaults: no model given (the embedded default teacher and student of assets/models/);
#   --distill: the default teacher, the Distillation dock's default plan run to the end, its last stage loaded;
#   --tour: the guided tour over the default models, a screenshot per step (tour_stepN.png);
#   --welcome: no model at all, no default installed (the welcome page); --missing: a model path that
#   does not exist
set -u
app="$1"; out="$2"; model="$3"
args=()
case "$model" in
  --synthetic) args=(--synthetic --autotest-pair) ;;
  --defaults) args=() ;;
  --distill) args=(--autotest-distill) ;;
  --tour) args=(--autotest-tour) ;;
  --welcome) args=(--autotest-expect welcome); export DS_ASSETS_DIR="$out/no-assets" ;;
  --missing) args=(--autotest-expect error "$out/no-such-model.gguf") ;;
  *) args=(--autotest-pair "$model") ;;
esac
if [ "${model#--}" = "$model" ]; then
  # ../shared next to the repository, or $DS_SHARED_DIR (as the gtest suites read it)
  [ -n "${DS_SHARED_DIR:-}" ] && model="$DS_SHARED_DIR/models/$(basename "$model")"
  if [ ! -f "$model" ]; then
    echo "SKIP: $model not found (put stories260K.gguf in ../shared/models or set DS_SHARED_DIR)"
    exit 77
  fi
fi
for tool in xvfb-run xauth; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (apt-get install xvfb xauth)"; exit 1; }
done
rm -rf "$out"
mkdir -p "$out/home" "$out/runtime" "$out/no-assets"
chmod 700 "$out/runtime"
# A private home: settings, conversation store and exports stay inside the test folder.
export HOME="$out/home" XDG_RUNTIME_DIR="$out/runtime" XDG_CONFIG_HOME="$out/home/.config" \
       XDG_DATA_HOME="$out/home/.local/share" DS_VALIDATION=1 DS_NO_PIPELINE_CACHE=1 QT_QPA_PLATFORM=xcb
unset WAYLAND_DISPLAY DISPLAY
xvfb-run -a -s "-screen 0 1600x1000x24" "$app" --autotest "$out/result" "${args[@]}"
status=$?
echo "report: $out/result/report.json"
[ -f "$out/result/report.json" ] && cat "$out/result/report.json"
exit $status
