#!/usr/bin/env bash
# Writes the King James Bible as a plain UTF-8 training corpus: one verse per line without its reference
# ("Ge1:1 In the beginning ..." -> "In the beginning ..."), a blank line between chapters (the corpus
# pipeline's documents: data.separator "\n\n"). Needs Debian's bible-kjv package (scripts/lib.sh installs it).
# Usage: scripts/corpus-kjv.sh OUT.txt [RANGE]   (RANGE default "Gen1:1-Rev22:21", e.g. "Gen1:1-Gen4:26")
set -euo pipefail
out="${1:?usage: $0 OUT.txt [RANGE]}"
range="${2:-Gen1:1-Rev22:21}"
command -v bible >/dev/null || { echo "bible not found: install the Debian package bible-kjv" >&2; exit 1; }
bible -f "$range" | awk '
  match($0, /^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ /) {
    ref = substr($0, 1, RLENGTH - 1); text = substr($0, RLENGTH + 1)
    chapter = ref; sub(/:[0-9]+$/, "", chapter)
    if (NR > 1 && chapter != last) print ""
    last = chapter; print text; next
  }
  { print "unexpected line " NR ": " $0 > "/dev/stderr"; exit 1 }' > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out: $(wc -l < "$out") lines, $(wc -c < "$out") bytes"
