#!/usr/bin/env bash
# The CUDA forward pass on the TinyLlama-1.1B shape (a build with -DRBEE_CUDA=ON):
#   bench/gpu.sh [DEVICE]                 (default: cuda:0)
# Environment: BUILD (default build-cuda), TYPES (default "Q4_0 Q8_0 F16 Q4_K_M"), PROMPT (128),
# GEN (64).
#
# Per type: `rbee-llm synth` writes random weights in the 1.1B shape (as bench/engine.sh does),
# then `rbee-llm bench --device DEVICE` prints pp and tg tok/s for one stream and for four
# decoded as one batch (--parallel 4). Last, Q4_0 with a 512-token prompt and 256 generated
# tokens: prompts from 16 tokens go through cuBLAS, and decoding at 512-768 positions shows
# what attention costs. The bench warms the GPU with one prompt of the timed size first.
# Models go to a temporary folder under $TMPDIR, removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-cuda}
device=${1:-cuda:0}
types=${TYPES:-Q4_0 Q8_0 F16 Q4_K_M}
prompt=${PROMPT:-128}
gen=${GEN:-64}
llm=$build/bin/rbee-llm
vocab=../shared/testdata/models/stories260K.gguf
[ -x "$llm" ] || { echo "bench/gpu.sh: $llm not found (configure $build with -DRBEE_CUDA=ON)" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/rbee-gpu-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

synth() {
  "$llm" synth --arch llama --n-embd 2048 --n-layer 22 --n-head 32 --n-head-kv 4 --n-ff 5632 \
    --vocab-from "$vocab" --n-vocab 32000 --type "$1" --seed 1 -o "$dir/tl-$1.gguf" > /dev/null
}

field() {  # field NAME JSON
  sed -E "s/.*\"$1\":(\"[^\"]*\"|[0-9.e+-]+).*/\1/" <<< "$2" | tr -d '"'
}

printf '%-7s %10s %10s %14s\n' type "pp tok/s" "tg tok/s" "tg x4 tok/s"
for type in $types; do
  synth "$type"
  one=$("$llm" bench --model "$dir/tl-$type.gguf" --device "$device" --prompt-tokens "$prompt" \
    --gen-tokens "$gen" --json)
  four=$("$llm" bench --model "$dir/tl-$type.gguf" --device "$device" --prompt-tokens "$prompt" \
    --gen-tokens "$gen" --parallel 4 --json)
  printf '%-7s %10.0f %10.1f %14.1f\n' "$type" "$(field pp_tokens_per_s "$one")" \
    "$(field tg_tokens_per_s "$one")" "$(field tg_tokens_per_s "$four")"
  [ "$type" = Q4_0 ] || rm -f "$dir/tl-$type.gguf"
done
echo "on $(field device "$one")"
if [ -f "$dir/tl-Q4_0.gguf" ]; then
  long=$("$llm" bench --model "$dir/tl-Q4_0.gguf" --device "$device" --prompt-tokens 512 \
    --gen-tokens 256 --json)
  printf 'Q4_0, 512-token prompt: pp %.0f tok/s, then 256 tokens at %.1f tok/s\n' \
    "$(field pp_tokens_per_s "$long")" "$(field tg_tokens_per_s "$long")"
fi
