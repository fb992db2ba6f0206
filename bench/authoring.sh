#!/usr/bin/env bash
# Wall-clock budgets of the authoring commands (quality.md), measured with hyperfine on a
# release build, with `zip -r -X` and `npm pack` run on the same tree in the same run.
#
#   bench/authoring.sh            # prints a Markdown table of median and p99 per command
#
# Needs: hyperfine, zip, npm, python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --release -p plexica-cli --manifest-path "$root/Cargo.toml"
plexica="$root/target/release/plexica"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PLEXICA_CONFIG_DIR="$work/config"

# A 200-line manifest: the spec's full example padded with permissions.
mkdir -p "$work/m200/migrations"
cp "$root/sdk/tests/suite/fixtures/full.toml" "$work/m200/plexica.toml"
i=0
while [ "$(wc -l < "$work/m200/plexica.toml")" -lt 200 ]; do
  printf '\n[[permissions]]\nkey = "extra%d:read"\ndescription = "Extra permission %d"\n' "$i" "$i" >> "$work/m200/plexica.toml"
  i=$((i + 1))
done
echo "CREATE TABLE crm_contacts (id TEXT, workspace_id TEXT);" > "$work/m200/migrations/0001_init.sql"

# A 50 MiB plugin tree: 25 MiB of text (base64) and 25 MiB of incompressible bytes, in 50 files.
"$plexica" plugin new big --template frontend --dir "$work/big" --no-input > /dev/null 2>&1
(cd "$work/big" && node ui/build.mjs > /dev/null)
mkdir -p "$work/big/assets"
for n in $(seq -w 1 25); do
  head -c 786432 /dev/urandom | base64 -w 76 > "$work/big/assets/text$n.txt"
  head -c 1048576 /dev/urandom > "$work/big/assets/blob$n.bin"
done
du -sh --apparent-size "$work/big/assets" >&2

run() { # name, hyperfine args…
  local name=$1; shift
  hyperfine --style none --export-json "$work/$name.json" "$@" > /dev/null
}
run startup --warmup 5 --runs 200 -N "$plexica --version" "$plexica --help"
run validate --warmup 5 --runs 200 -N "$plexica plugin validate $work/m200"
run package --warmup 1 --runs 15 \
  --prepare "rm -f $work/out.pxp $work/out.zip $work/big-0.1.0.tgz" \
  "$plexica plugin package $work/big --out $work/out.pxp" \
  "cd $work/big && zip -q -r -X $work/out.zip ." \
  "cd $work/big && npm pack --silent --pack-destination $work > /dev/null"

python3 - "$work" <<'PY'
import json, sys, statistics
work = sys.argv[1]
print("| command | median | p99 | runs |")
print("|---|---|---|---|")
for name in ["startup", "validate", "package"]:
    for r in json.load(open(f"{work}/{name}.json"))["results"]:
        times = sorted(r["times"])
        p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
        cmd = r["command"].replace(work, "$TMP")
        print(f"| `{cmd}` | {statistics.median(times)*1000:.2f} ms | {p99*1000:.2f} ms | {len(times)} |")
PY
