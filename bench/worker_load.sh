#!/usr/bin/env bash
# A worker's time to ready and its memory against the ceiling of issue 6 (weights + KV cache
# + 10 %):
#   bench/worker_load.sh [MODEL] [PARALLEL] [CTX]
# (defaults: a 1.1B-shape Q4_0 model synthesized into $TMPDIR, 1 slot, 2048 tokens).
# Runs llm-worker-rbee twice on the same file (the second load is the warm one: the file is in
# the page cache), polling /health every 5 ms from the moment the process starts; then one
# 32-token completion so that every weight and the KV cache have been touched, and reads the
# process's peak resident memory (VmHWM) from /proc.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
llm=$build/bin/rbee-llm
worker=$build/bin/llm-worker-rbee
parallel=${2:-1}
ctx=${3:-2048}
for tool in "$llm" "$worker"; do
  [ -x "$tool" ] || {
    echo "no $tool: build it first" >&2
    exit 1
  }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rbee-bench-load-XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
model=${1:-}
if [ -z "$model" ]; then
  model=$tmp/tl-Q4_0.gguf
  "$llm" synth --arch llama --n-embd 2048 --n-layer 22 --n-head 32 --n-head-kv 4 --n-ff 5632 \
    --vocab-from ../shared/testdata/models/stories260K.gguf --n-vocab 32000 --type Q4_0 \
    --seed 1 -o "$model" >/dev/null
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

for run in cold-ish warm; do
  start=$(date +%s%N)
  "$worker" --worker-id bench --model "$model" --port "$port" --parallel "$parallel" \
    --ctx "$ctx" --log-level warn >"$tmp/worker.log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || {
      cat "$tmp/worker.log" >&2
      exit 1
    }
    sleep 0.005
  done
  ready_ms=$((($(date +%s%N) - start) / 1000000))
  echo "ready after $ready_ms ms ($run)"
  if [ "$run" = warm ]; then
    curl -sf "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
      -d '{"prompt":"Once upon a time","max_tokens":32,"temperature":0}' >/dev/null
    hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
done

read -r n_layer n_embd n_head n_head_kv < <("$llm" info --model "$model" --json |
  jq -r '"\(.n_layer) \(.n_embd) \(.n_head) \(.n_head_kv)"')
weights=$("$llm" bench --model "$model" --threads 1 --prompt-tokens 1 --gen-tokens 1 --json |
  jq -r .model_bytes)
# F16 K and V per layer, per position, per slot.
kv=$((n_layer * ctx * (n_embd / n_head * n_head_kv) * 2 * 2 * parallel))
awk -v w="$weights" -v kv="$kv" -v hwm="$hwm_kib" 'BEGIN {
  rss = hwm * 1024; limit = (w + kv) * 1.10;
  printf "peak resident %.0f MiB; weights %.0f MiB + KV cache %.0f MiB = %.0f MiB (+10%%: %.0f MiB): %.2f of weights + KV\n",
         rss / 1048576, w / 1048576, kv / 1048576, (w + kv) / 1048576, limit / 1048576, rss / (w + kv) }'
