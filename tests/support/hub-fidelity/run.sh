#!/usr/bin/env bash
# The CTest `hub_fidelity` check: starts hf-test-server, installs @huggingface/hub (npm ci,
# into the build folder, once per lock file) and runs check.mjs against the server.
# Exit 77 (skip) when node or npm is missing, the test models are absent, or the npm registry
# cannot be reached.
#
#   run.sh HF_TEST_SERVER MODELS_DIR WORK_DIR
set -euo pipefail

server_bin=$1
models=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)

check_name=hub-fidelity
# shellcheck source=../npm-check-lib.sh
source "$here/../npm-check-lib.sh"
require_node
[[ -d $models ]] || skip "no test models at $models"
install_npm_packages "$here" "$work"

gated_file=$(find "$models" -maxdepth 1 -name '*.gguf' -type f | sort | head -n 1)
[[ -n $gated_file ]] || skip "no GGUF file in $models"
file_count=$(find "$models" -type f | wc -l)

# The server prints its URL on its first line; it stops when this script exits.
exec 3< <(exec "$server_bin" --repo "test/models=$models" --repo "test/gated=$gated_file" \
  --gated test/gated --token hf_fidelity_token --page-size 7 2>"$work/server.log")
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
if ! read -r -t 60 url <&3; then
  cat "$work/server.log" >&2
  fail "hf-test-server did not print its URL"
fi

node "$work/check.mjs" "$url" test/models "$file_count" test/gated hf_fidelity_token
