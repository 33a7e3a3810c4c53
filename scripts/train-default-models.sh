#!/usr/bin/env bash
# Regenerates DistilScope's embedded default models from scratch: the KJV teacher
# (scripts/train-default-teacher.sh), then staged distillation of Mamba and linear students (a layer per
# stage, least important first: 25 %, 50 %, 75 % of the teacher's 4 attention layers replaced;
# assets/train/distill-*.json), and the two runs behind docs/models.md's claim table (one shot, and staged
# without the hidden-state loss; assets/train/claim-*.json). With --install the teacher and students are
# converted to Q8_0 into assets/models/ (teacher.gguf, student-<mixer>-<percent>.gguf).
# Usage: scripts/train-default-models.sh OUT_DIR [--install]   (rerunning resumes what was interrupted)
# Env: DS_CLI (default build/app/cli/distilscope-cli). On the H200 the whole run takes a few minutes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: $0 OUT_DIR [--install]}"
install="${2:-}"
cli="${DS_CLI:-$root/build/app/cli/distilscope-cli}"
export DS_CLI="$cli"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

[ -s "$out/model.gguf" ] || "$root/scripts/train-default-teacher.sh" "$out"

for plan in distill-mamba distill-linear claim-oneshot claim-staged-nohidden; do
  cp "$root/assets/train/$plan.json" "$out/$plan.json"  # its corpus (kjv.txt) is next to it
  n_stages=$(grep -c '"mixer": "\(mamba\|linear\)"' "$out/$plan.json")
  last="$out/$plan/stage-$((n_stages - 1)).gguf"
  [ -s "$last" ] && continue
  resume=()
  [ -f "$out/$plan/plan.json" ] && resume=(--resume)
  echo "== distill $plan"
  "$cli" distill "$out/model.gguf" --plan "$out/$plan.json" -o "$out/$plan" "${resume[@]}" | tee "$out/$plan.log"
done

if [ "$install" = "--install" ]; then
  dst="$root/assets/models"
  mkdir -p "$dst"
  "$cli" convert "$out/model.gguf" "$dst/teacher.gguf" --type q8_0
  for mixer in mamba linear; do
    pct=(25 50 75)
    for s in 0 1 2; do
      "$cli" convert "$out/distill-$mixer/stage-$s.gguf" "$dst/student-$mixer-${pct[$s]}.gguf" --type q8_0
    done
  done
  du -ch "$dst"/*.gguf | tail -1
fi
