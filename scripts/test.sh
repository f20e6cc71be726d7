#!/usr/bin/env bash
# Runs tickerd's whole test suite on a machine with Go: installs what the
# tests use (Chromium, Prometheus, NATS, nginx, Node and npm, from Debian's
# packages) when it is missing, the npm packages of package-lock.json
# (npm ci, into node_modules), then go vet, the race-enabled tests (which
# run every fuzz target's seed corpus, testdata/fuzz included) and a short
# fuzzing run of each target. A failure the fuzzer finds is written to the
# package's testdata/fuzz/<target>/; commit it with the fix and it stays a
# regression case.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || packages+=(prometheus)
command -v nats-server >/dev/null 2>&1 || packages+=(nats-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx-light)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [ ${#packages[@]} -gt 0 ]; then
  echo "== installing ${packages[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install: ${packages[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# The Node clients' tests run against node_modules exactly as locked;
# nothing in it has an install script to run.
echo "== npm ci"
npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error
# The AsyncAPI project's parser, which checks api/asyncapi.yaml.
npm ci --prefix api/testdata/asyncapi-parser --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error

echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 40m ./...

# A count rather than a duration: Go 1.26's fuzzing coordinator can report
# "context deadline exceeded" as a failure when a duration runs out while
# a worker is busy (golang/go#75804, fixed in Go 1.27); a count has no
# deadline to race. 30,000 inputs take 2 to 7 s a target on a 2-core machine.
fuzztime="${FUZZTIME:-30000x}"
echo "== fuzz, $fuzztime per target"
grep -r --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' . | sed 's/:func / /' | sort |
  while read -r file target; do
    dir="$(dirname "$file")"
    echo "-- $target ($dir)"
    if out=$(go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$dir" 2>&1); then
      echo "$out" | grep -E '^(fuzz: elapsed|ok)' | tail -n 2
    else
      echo "$out"
      echo "fuzzing $target failed; a failing input is kept in $dir/testdata/fuzz/$target/" >&2
      exit 1
    fi
  done
