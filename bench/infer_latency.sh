#!/usr/bin/env bash
# The queen's cost on inference, and a worker's cold start, on a fresh RBEE_HOME:
#   bench/infer_latency.sh [MODEL_GGUF] [ROUNDS]
#       (defaults: ../shared/testdata/models/stories260K.gguf, 30 rounds)
# 1. Cold start: `rbee worker spawn` (process start → model loaded → /health ready), timed.
# 2. Streaming completions (64 tokens, greedy) straight to the worker and through the queen,
#    alternating in one run: time to first token and inter-token latency, p50 and p99, and
#    the difference the queen makes.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-../shared/testdata/models/stories260K.gguf}
rounds=${2:-30}
model=$(realpath "$model")
cmake --build build --target rbee queen-rbee rbee-hive llm-worker-rbee rbee-bench-infer >/dev/null

export RBEE_HOME
RBEE_HOME=$(mktemp -d "${TMPDIR:-/tmp}/rbee-bench-infer-XXXXXX")
cleanup() {
  build/bin/rbee stop >/dev/null 2>&1 || true
  rm -rf "$RBEE_HOME"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
queen_port=$(free_port)
mkdir -p "$RBEE_HOME/config"
cat >"$RBEE_HOME/config/config.toml" <<TOML
[queen]
port = $queen_port
[hive]
port = $(free_port)
TOML

build/bin/rbee queen start >/dev/null
model_id=$(build/bin/rbee --json model download "$model" 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["model"]["id"])')
start=$(date +%s.%N)
spawned=$(build/bin/rbee --json worker spawn --model "$model_id" --parallel 1 2>/dev/null)
end=$(date +%s.%N)
worker_url=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["worker"]["url"])' "$spawned")
python3 -c "print(f'cold start (rbee worker spawn → ready): {($end - $start) * 1000:.0f} ms for $(basename "$model")')"
# The queen routes once the worker's first heartbeat arrived.
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$queen_port/v1/workers" | grep -q '"routable":true' && break
  sleep 0.05
done
build/bin/rbee-bench-infer --queen "http://127.0.0.1:$queen_port" --worker "$worker_url" \
  --token-file "$RBEE_HOME/config/cluster.token" --model "$model_id" --rounds "$rounds"
