#!/usr/bin/env bash
# Benchmarks on a machine with a real GPU (used with the `device` tool on the H200): expects x86-64
# binaries built here in .devbin/ (static libstdc++, shared libs in .devbin/lib) and the Vulkan
# loader debs in .gl/. Writes logs to $OUT (or ./bench-out). Usage: scripts/device-bench.sh [what...]
# what: smoke | models | bench | profile | fusion | kernels | hybrid | probes | defaults | tiles | prefill | attnpf |
#       split | half | sweep
#       (default: smoke models bench kernels)
# tiles / prefill: the tensor-core matmul kernels per tile, and prefill before/after (docs/performance.md).
# attnpf: tensor-core prefill attention: its tests against the CPU reference, then prefill and --profile with
#         DS_ATTN_PREFILL=scalar (before) and the default choice (after), and the attention kernel bench.
# hybrid: the 1B-shaped teacher against its 50 % / 75 % Mamba and linear students (synth --replace),
#         decode tokens/s at depths 1k, 8k, 32k and the student/teacher ratios (docs/performance.md).
# split: prefill with and without split-K of the long-K products (DS_COOPMAT_SPLIT=1).
# half: prefill with F32 matmul inputs (DS_HALF_INPUTS=0) against the F16 ones (the default on tensor cores),
#       twice each, and greedy text with both (it must be the same).
# fusion: decode of llama1b-f16 with both decode fusions (ops/matvec_fused.h), without the combine one,
#         without the rope one, and with neither (DS_NO_DECODE_FUSION), at depths 0, 1k, 8k.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/bench-out}"
mkdir -p "$OUT"
for f in .gl/*.deb; do dpkg -x "$f" / 2>/dev/null; done
ldconfig
export LD_LIBRARY_PATH="$PWD/${DS_BIN:-.devbin}/lib:${LD_LIBRARY_PATH:-}"
if ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
B=${DS_BIN:-.devbin}
M=/tmp/models
mkdir -p $M
what="${*:-smoke models bench kernels}"
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
for w in $what; do
  case $w in
    smoke) log "devices"; $B/distilscope-cli devices 2>&1 | tee -a "$OUT/summary.txt" ;;
    models)
      for t in f16 q8_0; do
        [ -f $M/llama1b-$t.gguf ] || $B/distilscope-cli synth -o $M/llama1b-$t.gguf --type $t 2>&1 | tail -1
      done ;;
    bench)
      for t in f16 q8_0; do
        log "bench llama1b-$t"
        $B/distilscope-cli bench $M/llama1b-$t.gguf --prompt-len 512 -n 128 --depths 0,1024,8192 --reps 3 2>&1 | tee -a "$OUT/summary.txt"
      done ;;
    profile)
      for t in f16 q8_0; do
        log "profile llama1b-$t (timestamps after every dispatch slow it down; see bench for speed)"
        $B/distilscope-cli bench $M/llama1b-$t.gguf --prompt-len 512 -n 16 --depths 0 --reps 1 --profile 2>&1 | grep -vE '^  matvec blk' | head -30 | tee -a "$OUT/summary.txt"
      done ;;
    fusion)
      for off in 0 combine rope 1; do
        log "bench llama1b-f16 DS_NO_DECODE_FUSION=$off"
        DS_NO_DECODE_FUSION=$off $B/distilscope-cli bench $M/llama1b-f16.gguf --prompt-len 512 -n 128 --depths 0,1024,8192 --reps 3 2>&1 | grep -E '^decode' | tee -a "$OUT/summary.txt"
      done ;;
    tests)  # correctness on this GPU (no validation layers there)
      for t in $B/ds_test_*; do
        log "$(basename $t)"
        DS_NO_VALIDATION=1 $t 2>&1 | grep -E 'PASSED|FAILED|tests? from .* ran' | head -12 | tee -a "$OUT/summary.txt"
      done ;;
    hybrid)
      for k in mamba linear; do for r in 0.5 0.75; do
        [ -f $M/llama1b-$k-$r.gguf ] || $B/distilscope-cli synth -o $M/llama1b-$k-$r.gguf --type f16 --mixer $k --replace $r 2>&1 | tail -1
      done; done
      [ -f $M/llama1b-f16.gguf ] || $B/distilscope-cli synth -o $M/llama1b-f16.gguf --type f16 2>&1 | tail -1
      log "hybrid students vs the teacher (F16)"
      $B/distilscope-cli bench $M/llama1b-f16.gguf --student $M/llama1b-mamba-0.5.gguf --student $M/llama1b-mamba-0.75.gguf \
        --student $M/llama1b-linear-0.5.gguf --student $M/llama1b-linear-0.75.gguf \
        --prompt-len 512 -n 128 --depths 1024,8192,32768 --reps 3 2>&1 | tee -a "$OUT/summary.txt" ;;
    probes)  # issue 4: all probes on for one layer, all heads: decode slowdown (target <= 15 %)
      [ -f $M/llama1b-f16.gguf ] || $B/distilscope-cli synth -o $M/llama1b-f16.gguf --type f16 2>&1 | tail -1
      log "probe overhead llama1b-f16, layer 8, all heads"
      $B/distilscope-cli bench $M/llama1b-f16.gguf --prompt-len 512 -n 128 --depths 0,1024,8192 --reps 3 --probe-layer 8 2>&1 | tee -a "$OUT/summary.txt"
      log "probe overhead llama1b-f16, layer 8, all heads, logit lens"
      $B/distilscope-cli bench $M/llama1b-f16.gguf --prompt-len 512 -n 128 --depths 1024 --reps 3 --probe-layer 8 --probe-lens 2>&1 | grep -E 'decode|probes' | tee -a "$OUT/summary.txt" ;;
    defaults)  # the embedded default models (assets/models): decode at 512 and 4k context
      log "default models"
      st=(); for f in assets/models/student-*.gguf; do st+=(--student "$f"); done
      $B/distilscope-cli bench assets/models/teacher.gguf "${st[@]}" --prompt-len 128 -n 128 --depths 512,4096 --reps 3 2>&1 | tee -a "$OUT/summary.txt" ;;
    tiles)  # tensor-core matmul kernels at the 1B model's prefill shapes (M = 512), every tile
      for sh in "2048 8192" "2048 2048" "8192 2048" "2048 512"; do set -- $sh
        log "tensor-core tiles K=$1 N=$2 M=512"
        $B/ds_bench_matmul --tiles --type f16 --type q8_0 -k $1 -n $2 -m 512 --reps 20 --min-mb 128 2>&1 | grep -vE '^device|^W:' | tee -a "$OUT/summary.txt"
      done ;;
    prefill)  # prefill of 512 tokens, the classic tensor-core kernel (before) against the tile choice (after)
      for t in f16 q8_0; do for tile in classic auto; do
        log "prefill llama1b-$t DS_COOPMAT_TILE=$tile"
        DS_COOPMAT_TILE=$tile $B/distilscope-cli bench $M/llama1b-$t.gguf --prompt-len 512 -n 16 --depths 0 --reps 5 2>&1 | grep -i prefill | tee -a "$OUT/summary.txt"
      done; done ;;
    attnpf)
      log "attention tests (tensor-core prefill, emulated twin, scalar)"
      DS_NO_VALIDATION=1 $B/ds_test_ops_attention 2>&1 | grep -E 'FAILED|tests? from .* ran|PASSED|SKIPPED  \]' | head -20 | tee -a "$OUT/summary.txt"
      [ -f $M/llama1b-f16.gguf ] || $B/distilscope-cli synth -o $M/llama1b-f16.gguf --type f16 2>&1 | tail -1
      for k in scalar coopmat; do
        log "prefill llama1b-f16 DS_ATTN_PREFILL=$k"
        DS_ATTN_PREFILL=$k $B/distilscope-cli bench $M/llama1b-f16.gguf --prompt-len 512 -n 16 --depths 0 --reps 5 2>&1 | grep -i prefill | tee -a "$OUT/summary.txt"
        DS_ATTN_PREFILL=$k $B/distilscope-cli bench $M/llama1b-f16.gguf --prompt-len 512 -n 16 --depths 0 --reps 1 --profile 2>&1 | grep -E 'attention_prefill|prefill' | head -6 | tee -a "$OUT/summary.txt"
        DS_ATTN_PREFILL=$k DS_NO_VALIDATION=1 DS_BENCH=1 $B/ds_test_ops_attention --gtest_filter='*Bench*' 2>&1 | grep 'tokens 512' | tee -a "$OUT/summary.txt"
      done ;;
    split)  # prefill of 512 tokens with split-K on tensor cores (default) and without (DS_COOPMAT_SPLIT=1)
      for t in f16 q8_0; do for sp in 1 auto; do
        log "prefill llama1b-$t DS_COOPMAT_SPLIT=$sp"
        DS_COOPMAT_SPLIT=$([ $sp = auto ] || echo $sp) $B/distilscope-cli bench $M/llama1b-$t.gguf --prompt-len 512 -n 16 --depths 0 --reps 5 2>&1 | grep -i prefill | tee -a "$OUT/summary.txt"
      done; done ;;
    half)
      for t in f16 q8_0; do for h in 0 1 0 1; do
        log "prefill llama1b-$t DS_HALF_INPUTS=$h"
        DS_HALF_INPUTS=$h $B/distilscope-cli bench $M/llama1b-$t.gguf --prompt-len 512 -n 16 --depths 0 --reps 5 2>&1 | grep -i prefill | tee -a "$OUT/summary.txt"
      done; done
      for h in 0 1; do
        log "greedy text DS_HALF_INPUTS=$h (md5)"
        DS_HALF_INPUTS=$h $B/distilscope-cli run $M/llama1b-f16.gguf -p "Once upon a time there was a little robot" -n 24 --temp 0 2>/dev/null | md5sum | tee -a "$OUT/summary.txt"
      done ;;
    sweep)
      log "matmul sweep (gate/up-sized weight)"; $B/ds_bench_matmul --sweep 2>&1 | tail -80 | tee -a "$OUT/summary.txt"
      log "matmul sweep (down-sized weight)"; $B/ds_bench_matmul --sweep -k 8192 -n 2048 --type f16 2>&1 | tail -50 | tee -a "$OUT/summary.txt" ;;
    kernels)
      log "matmul bench"; $B/ds_bench_matmul 2>&1 | tail -20 | tee -a "$OUT/summary.txt"
      log "attention bench"; DS_NO_VALIDATION=1 DS_BENCH=1 $B/ds_test_ops_attention --gtest_filter='*Bench*' 2>&1 | grep -vE '^\[ ' | tail -15 | tee -a "$OUT/summary.txt"
      log "sampler timing"; DS_NO_VALIDATION=1 $B/ds_test_ops_sample --gtest_filter='*Timing*' 2>&1 | grep -vE '^\[ ' | tail -8 | tee -a "$OUT/summary.txt" ;;
  esac
done
