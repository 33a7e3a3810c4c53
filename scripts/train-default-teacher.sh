#!/usr/bin/env bash
# Trains DistilScope's default teacher from scratch: the KJV corpus (scripts/corpus-kjv.sh), a byte-level BPE
# tokenizer on it (`distilscope-cli tokenizer train`), then `distilscope-cli pretrain` with
# assets/train/teacher.json. Writes OUT_DIR/{kjv.txt, tokenizer.gguf, checkpoint.gguf, model.gguf}; rerunning
# resumes an interrupted run. Usage: scripts/train-default-teacher.sh OUT_DIR [extra pretrain flags...]
# Env: DS_CLI (default build/app/cli/distilscope-cli), DS_VOCAB (default 4096).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: $0 OUT_DIR [pretrain flags...]}"
shift
cli="${DS_CLI:-$root/build/app/cli/distilscope-cli}"
mkdir -p "$out"
[ -s "$out/kjv.txt" ] || "$root/scripts/corpus-kjv.sh" "$out/kjv.txt"
[ -s "$out/tokenizer.gguf" ] || "$cli" tokenizer train "$out/kjv.txt" --vocab "${DS_VOCAB:-4096}" -o "$out/tokenizer.gguf"
resume=()
[ -f "$out/checkpoint.gguf" ] && resume=(--resume)
"$cli" pretrain --config "$root/assets/train/teacher.json" --corpus "$out/kjv.txt" \
  --tokenizer "$out/tokenizer.gguf" -o "$out" "${resume[@]}" "$@"
"$cli" run "$out/model.gguf" -p "And it came to pass" -n 80 --temp 0.7 --seed 1
