#!/usr/bin/env bash
# Download throughput: rbee's HuggingFace client against `curl -o` of the same file from the
# same loopback test server (tests/support/hf-test-server), in one run, several rounds.
#   bench/download.sh [SIZE_MIB] [ROUNDS]      (defaults: 1024 MiB, 3 rounds)
# Prints each round and the median ratio rbee/curl (throughput; > 1 means rbee is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
rounds=${2:-3}
cmake --build build --target rbee-bench-download hf-test-server >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/rbee-bench-download-XXXXXX")
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Random bytes under a .gguf name: served through the test server's LFS/CDN path like a model.
mkdir -p "$work/repo"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/repo/bench.gguf"
build/bin/hf-test-server --port 0 --repo "bench/blob=$work/repo" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 100); do [[ -s "$work/server.out" ]] && break; sleep 0.1; done
url=$(head -1 "$work/server.out")
echo "file: ${size_mib} MiB from $url"

ratios=()
for round in $(seq "$rounds"); do
  rm -f "$work/curl.out" "$work/rbee.out" "$work/rbee.out.part"
  curl_s=$( { /usr/bin/time -f %e curl -sSL -o "$work/curl.out" "$url/bench/blob/resolve/main/bench.gguf"; } 2>&1 )
  line=$(build/bin/rbee-bench-download --endpoint "$url" --repo bench/blob --file bench.gguf --dest "$work/rbee.out")
  rbee_s=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['download_s'])" "$line")
  hash_s=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['sha256_pass_s'])" "$line")
  ratio=$(python3 -c "print(f'{$curl_s/$rbee_s:.3f}')")
  ratios+=("$ratio")
  echo "round $round: curl ${curl_s}s, rbee ${rbee_s}s (sha256 on the fly), a separate sha256 pass ${hash_s}s, throughput ratio rbee/curl $ratio"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print "median ratio rbee/curl: " a[int((NR+1)/2)]}'
