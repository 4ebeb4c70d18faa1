#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each):
#
#     tests/fuzz/run.sh [SECONDS] [TARGET…]
#
# Installs cargo-fuzz if it is missing. On a machine with only a stable
# toolchain, RUSTC_BOOTSTRAP=1 lets it accept cargo-fuzz's nightly flags.
# Each target starts from a corpus seeded with the sample exports and
# manifests (in target/fuzz-corpus/, not committed). A crash is copied into
# regressions/<target>/; rename it after what it found, fix the bug, and
# `cargo test -p conform-decode --test fuzz_regressions` replays it from then on.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(csv xml json ndjson plugin_manifest pack_manifest)
fi

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
toolchain=()
if rustup toolchain list | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi

seed() {
    local target="$1" corpus="$2"
    case "$target" in
        csv) for f in "$root"/tests/fixtures/samples/*.csv; do
                 { printf '\001'; cat "$f"; } > "$corpus/$(basename "$f")"; done ;;
        ndjson) for f in "$root"/tests/fixtures/samples/*.ndjson; do
                 { printf '\000'; cat "$f"; } > "$corpus/$(basename "$f")"; done ;;
        xml) printf '\000<?xml version="1.0"?><Root><Item id="1"><a>x</a><b u="mm">2</b></Item><Item/></Root>' > "$corpus/seed.xml" ;;
        json) printf '\000[{"a":1,"b":"x"},{"c":[1,2,{"d":null}]}]' > "$corpus/seed.json" ;;
        plugin_manifest) for d in "$root"/plugins/*/; do
                 if [ -f "$d/plugin.toml" ]; then cp "$d/plugin.toml" "$corpus/$(basename "$d").toml"; fi
             done ;;
        pack_manifest) cp "$root/standards/sample-regional/pack.toml" "$corpus/sample-regional.toml" ;;
    esac
}

failed=()
cd "$root"
for target in "${targets[@]}"; do
    corpus="$root/target/fuzz-corpus/$target"
    mkdir -p "$corpus" "$here/regressions/$target"
    seed "$target" "$corpus"
    echo "== fuzzing $target for ${seconds}s"
    if ! cargo "${toolchain[@]}" fuzz run --fuzz-dir "$here" "$target" "$corpus" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10; then
        failed+=("$target")
        for crash in "$here"/artifacts/"$target"/*; do
            if [ -f "$crash" ]; then cp "$crash" "$here/regressions/$target/"; fi
        done
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]}; inputs copied into tests/fuzz/regressions/" >&2
    exit 1
fi
echo "no crash in ${targets[*]} (${seconds}s each)"
