#!/usr/bin/env bash
# The CTest `openai_client` check: a fresh RBEE_HOME, the real queen and hive (started by
# `rbee queen start`), stories260K imported into the catalog, then the official `openai` npm
# package (installed with npm ci into the build folder, once per lock file) runs check.mjs
# against the queen. Exit 77 (skip) when node/npm or the test models are missing, or the npm
# registry cannot be reached.
#
#   run.sh BIN_DIR TESTDATA_DIR WORK_DIR
set -euo pipefail

bin=$1
testdata=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)

check_name=openai-client
# shellcheck source=../../support/npm-check-lib.sh
source "$here/../../support/npm-check-lib.sh"
require_node
model_file="$testdata/models/stories260K.gguf"
[[ -f $model_file ]] || skip "no test model at $model_file"
install_npm_packages "$here" "$work"

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

export RBEE_HOME
RBEE_HOME=$(mktemp -d)
cleanup() {
  "$bin/rbee" stop >/dev/null 2>&1 || true
  rm -rf "$RBEE_HOME"
}
trap cleanup EXIT
queen_port=$(free_port)
hive_port=$(free_port)
worker_port=$(free_port)
mkdir -p "$RBEE_HOME/config"
cat >"$RBEE_HOME/config/config.toml" <<TOML
[queen]
port = $queen_port
[hive]
port = $hive_port
heartbeat_s = 0.5
[workers]
port_min = $worker_port
port_max = $((worker_port + 20))
[scheduler]
default_parallel = 2
TOML

"$bin/rbee" queen start >"$work/queen-start.log" 2>&1 || {
  cat "$work/queen-start.log" >&2
  fail "rbee queen start failed"
}
"$bin/rbee" --json model download "$model_file" >"$work/import.json" 2>"$work/import.log" || {
  cat "$work/import.log" >&2
  fail "importing $model_file failed"
}
model_id=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).model.id)' \
  "$work/import.json")
expected=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).generated_text)' \
  "$testdata/golden/stories260K/p1_once.json")

# The queen learns of the hive's models from its heartbeats (every 0.5 s here).
node -e '
const [url, id] = process.argv.slice(1);
const deadline = Date.now() + 10000;
(async () => {
  while (Date.now() < deadline) {
    const models = await (await fetch(url)).json();
    if (models.data.some((m) => m.id === id)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error(`openai-client: FAILED: ${id} never appeared in ${url}`);
  process.exit(1);
})();' "http://127.0.0.1:$queen_port/v1/models" "$model_id"

node "$work/check.mjs" "http://127.0.0.1:$queen_port/v1" "$model_id" "$expected"
