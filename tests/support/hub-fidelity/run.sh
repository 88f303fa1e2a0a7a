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

skip() {
  echo "hub-fidelity: SKIPPED: $*"
  exit 77
}
fail() {
  echo "hub-fidelity: FAILED: $*" >&2
  exit 1
}

command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
[[ -d $models ]] || skip "no test models at $models"

mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/check.mjs" "$work/"

# node_modules is installed once per lock file: the copy beside it says which one.
installed_lock="$work/node_modules/.rbee-package-lock.json"
if ! cmp -s "$here/package-lock.json" "$installed_lock"; then
  if ! (cd "$work" && timeout 240 npm ci --no-audit --no-fund --loglevel=error) \
      >"$work/npm.log" 2>&1; then
    if ! timeout 60 npm ping >/dev/null 2>&1; then
      skip "the npm registry cannot be reached (npm ci failed: $(tail -n 3 "$work/npm.log"))"
    fi
    cat "$work/npm.log" >&2
    fail "npm ci failed although the registry answers"
  fi
  cp "$here/package-lock.json" "$installed_lock"
fi

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
