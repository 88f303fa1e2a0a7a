# Shared by the CTest checks that run an official npm client against rbee (hub-fidelity,
# openai-client). Source it after setting `check_name`; then call `require_node` and
# `install_npm_packages SOURCE_DIR WORK_DIR`, which copies package.json, package-lock.json and
# every *.mjs into WORK_DIR and runs `npm ci` there once per lock file.
# Skips (exit 77) when node/npm are missing or the npm registry cannot be reached.

skip() {
  echo "$check_name: SKIPPED: $*"
  exit 77
}

fail() {
  echo "$check_name: FAILED: $*" >&2
  exit 1
}

require_node() {
  command -v node >/dev/null || skip "node is not installed"
  command -v npm >/dev/null || skip "npm is not installed"
}

install_npm_packages() {
  local source=$1 work=$2
  mkdir -p "$work"
  cp "$source/package.json" "$source/package-lock.json" "$source"/*.mjs "$work/"
  # node_modules is installed once per lock file: the copy beside it says which one.
  local installed_lock="$work/node_modules/.rbee-package-lock.json"
  if cmp -s "$source/package-lock.json" "$installed_lock"; then
    return 0
  fi
  if ! (cd "$work" && timeout 240 npm ci --no-audit --no-fund --loglevel=error) \
      >"$work/npm.log" 2>&1; then
    if ! timeout 60 npm ping >/dev/null 2>&1; then
      skip "the npm registry cannot be reached (npm ci failed: $(tail -n 3 "$work/npm.log"))"
    fi
    cat "$work/npm.log" >&2
    fail "npm ci failed although the registry answers"
  fi
  cp "$source/package-lock.json" "$installed_lock"
}
