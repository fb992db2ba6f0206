#!/usr/bin/env bash
# Peer comparison of the registry under load: our load bench (registry-server/benches/load.rs)
# and the same scenarios against Verdaccio 6.8.0 (registry-server/benches/peer.rs), in one run,
# both driven by the same generator code (registry-server/benches/loadgen/), on loopback.
#
#   bench/verdaccio.sh      # prints one Markdown table: medians, p99s and our/their ratios
#
# Verdaccio is installed with npm into a temporary directory for this run only (never a test
# dependency): 6.8.0 is the last release that runs on Node 20, and it installs from this
# machine's npm registry only with an `overrides` entry pinning node-fetch 2.7.0 (one of its
# dependencies asks for a dist-tag the registry does not carry). It runs with local storage in
# the temporary directory, htpasswd auth (one user, created through the API), no uplinks and
# logs at error level; its storage is seeded on disk with the data set of our bench (10,000
# packages × 10 versions) by `peer seed`, and `peer` checks that Verdaccio serves it.
#
# Needs: cargo, node 20 and npm (reaching the npm registry), curl. Progress and each bench's own
# table go to stderr; the comparison table goes to stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
verdaccio_version=6.8.0
password="bench password 1234"
work=$(mktemp -d)
verdaccio_pid=""

stop_verdaccio() {
  if [ -n "$verdaccio_pid" ] && kill -0 "$verdaccio_pid" 2>/dev/null; then
    kill "$verdaccio_pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$verdaccio_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$verdaccio_pid" 2>/dev/null || true
    wait "$verdaccio_pid" 2>/dev/null || true
  fi
  verdaccio_pid=""
}
cleanup() {
  stop_verdaccio
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

run_bench() { # bench name, then its arguments after `--`
  cargo bench --quiet --manifest-path "$root/Cargo.toml" -p plexica-registry --bench "$@"
}

echo "installing verdaccio@$verdaccio_version into $work/verdaccio" >&2
mkdir "$work/verdaccio"
cat > "$work/verdaccio/package.json" <<EOF
{
  "name": "plexica-bench-verdaccio",
  "private": true,
  "dependencies": { "verdaccio": "$verdaccio_version" },
  "overrides": { "node-fetch": "2.7.0" }
}
EOF
(cd "$work/verdaccio" && npm install --no-audit --no-fund --loglevel=error >&2)
installed=$(node -p "require('$work/verdaccio/node_modules/verdaccio/package.json').version")
[ "$installed" = "$verdaccio_version" ] || { echo "installed verdaccio $installed" >&2; exit 1; }

echo "building the benches (release)" >&2
cargo bench --quiet --manifest-path "$root/Cargo.toml" -p plexica-registry \
  --bench load --bench peer --no-run >&2

port=$(node -e 'const s = require("net").createServer();
  s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
base="http://127.0.0.1:$port"
mkdir "$work/storage"
cat > "$work/config.yaml" <<EOF
storage: $work/storage
auth:
  htpasswd:
    file: $work/htpasswd
    max_users: 1
uplinks: {}
packages:
  '**':
    access: \$all
    publish: \$authenticated
    unpublish: \$authenticated
# The default allows 1,000 requests per 15 minutes on user endpoints, search included.
userRateLimit:
  windowMs: 1000
  max: 100000000
# A 40 MiB tarball is a 54 MiB JSON document once base64-encoded.
max_body_size: 100mb
web:
  enable: false
log: { type: stdout, format: pretty, level: error }
EOF

echo "seeding Verdaccio's storage" >&2
PEER_REGISTRY_URL="$base" run_bench peer -- seed "$work/storage" >&2

echo "starting Verdaccio on $base" >&2
"$work/verdaccio/node_modules/.bin/verdaccio" --config "$work/config.yaml" \
  --listen "127.0.0.1:$port" > "$work/verdaccio.log" 2>&1 &
verdaccio_pid=$!
ready=""
for _ in $(seq 120); do
  if curl -fsS -o /dev/null "$base/-/ping" 2>/dev/null; then
    ready=yes
    break
  fi
  kill -0 "$verdaccio_pid" 2>/dev/null || break
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "Verdaccio did not start; its log:" >&2
  cat "$work/verdaccio.log" >&2
  exit 1
fi
token=$(curl -fsS -X PUT -H 'content-type: application/json' \
  --data "{\"name\": \"bench\", \"password\": \"$password\"}" \
  "$base/-/user/org.couchdb.user:bench" |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const token = JSON.parse(s).token;
    if (!token) process.exit(1);
    console.log(token);
  });')

echo "our bench: registry-server/benches/load.rs" >&2
PLEXICA_BENCH_RESULTS="$work/plexica.jsonl" run_bench load >&2
echo "peer bench: registry-server/benches/peer.rs against Verdaccio $verdaccio_version" >&2
PLEXICA_BENCH_RESULTS="$work/verdaccio.jsonl" PEER_REGISTRY_URL="$base" \
  PEER_REGISTRY_TOKEN="$token" run_bench peer >&2
stop_verdaccio
errors=$(grep -c -i 'error' "$work/verdaccio.log" || true)
echo "Verdaccio's log holds $errors lines mentioning errors" >&2
grep -i 'error' "$work/verdaccio.log" | head -5 >&2 || true

registry_version=$(cargo pkgid --manifest-path "$root/Cargo.toml" -p plexica-registry | sed 's/.*[#@]//')
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
node - "$work/plexica.jsonl" "$work/verdaccio.jsonl" <<EOF
const fs = require("fs");
const load = (path) => Object.fromEntries(fs.readFileSync(path, "utf8").trim().split("\n")
  .map((line) => JSON.parse(line)).map((r) => [r.key, r]));
const [ours, theirs] = process.argv.slice(2).map(load);
// [scenario, our key, their key]
const rows = [
  ["publish 1 MiB package / tarball (sequential)", "publish", "publish"],
  ["search, 10,000 plugins / packages, 200 req/s", "search", "search"],
  ["search, one client (sequential)", "search_sequential", "search_sequential"],
  ["version metadata / package document, 1,000 req/s", "version_metadata", "package_document"],
  ["index / package document, 1,000 req/s", "index", "package_document"],
  ["index / package document answered 304, 1,000 req/s", "index_304", "package_document_304"],
  ["download 40 MiB, single stream (time per download)", "download", "download"],
];
const ms = (r, field) => {
  const value = r[field];
  if (value === null) return "not reached";
  const text = value < 10 ? value.toFixed(2) : value < 1000 ? value.toFixed(1) : value.toFixed(0);
  if (!r.body_bytes) return text + " ms";
  return text + " ms (" + (r.body_bytes / 1048576 / (value / 1000)).toFixed(0) + " MiB/s)";
};
const ratio = (a, b, field) => {
  if (a[field] === null) return "—";
  if (b[field] === null) return "< " + (a[field] / b.deadline_ms).toPrecision(2);
  return (a[field] / b[field]).toPrecision(2);
};
const count = (n) => n.toLocaleString("en-US");
const answered = (r) => {
  let text = count(r.ok) + "/" + count(r.requests);
  if (r.errors) text += ", " + count(r.errors) + " errors";
  if (r.timeouts) text += ", " + count(r.timeouts) + " timed out (" + r.deadline_ms / 1000 + " s)";
  return text;
};
console.log("| scenario | Plexica median | Plexica p99 | Verdaccio median | Verdaccio p99 "
  + "| ours/theirs median | ours/theirs p99 | answered, Plexica · Verdaccio |");
console.log("|---|---|---|---|---|---|---|---|");
for (const [name, ourKey, theirKey] of rows) {
  const a = ours[ourKey], b = theirs[theirKey];
  if (!a || !b) throw new Error("missing result for " + name);
  console.log("| " + [name, ms(a, "median_ms"), ms(a, "p99_ms"), ms(b, "median_ms"), ms(b, "p99_ms"),
    ratio(a, b, "median_ms"), ratio(a, b, "p99_ms"), answered(a) + " · " + answered(b)].join(" | ") + " |");
}
console.log("");
console.log("Ratios are ours/theirs times: below 1, Plexica is faster. \"not reached\": more than"
  + " that share of the requests failed or timed out; the ratio is then bounded by the deadline.");
console.log("plexica-registry $registry_version (release, SQLite) · Verdaccio $installed on Node "
  + process.version + " · npm $(npm --version) · $(rustc --version | cut -d' ' -f1-2) · $cpu, $(nproc) CPUs");
EOF
