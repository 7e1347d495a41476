#!/bin/sh
# make bench: measure the machine once (cached), then bench the catalog models present.
set -e
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
[ -f "$HOME/.cache/scarce/membw" ] || ./scarce membw
models=""
for m in models/*.gguf "$SHARED"/models/stories260K.gguf; do
    [ -f "$m" ] && models="${models:+$models,}$m"
done
[ -n "$models" ] || { echo "bench.sh: no models (models/fetch.sh stories260K.gguf)" >&2; exit 1; }
./scarce bench -m "$models" -t 1,2
