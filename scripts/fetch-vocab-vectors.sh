#!/usr/bin/env bash
# Fetches llama.cpp's vocabulary-only GGUF files with their tokenizer test vectors
# (ggml-vocab-NAME.gguf, .gguf.inp, .gguf.out; MIT) from the llama-cpp-python source archive
# on PyPI, which vendors llama.cpp, into the git-ignored models/vocab/ folder.
# TokenizerVectorTests checks every vector of every file listed here.
# Idempotent: when every file is present with its SHA-256, nothing is downloaded.
# Needs python3 with pip. The archive is ~77 MB; pip resolves its metadata with binary build
# dependencies (scikit-build-core, cmake), which takes about a minute.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
package=llama-cpp-python==0.3.36
archive_sha256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
prefix=llama_cpp_python-0.3.36/vendor/llama.cpp/models
dest="$root/models/vocab"

# SHA-256 of every file taken from the archive.
sums=$(cat <<'SUMS'
16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69  ggml-vocab-llama-spm.gguf
be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0  ggml-vocab-llama-spm.gguf.inp
ad6905c925c49c022974fe67e030382e8a4f56eb4489a0b9481dcedb1ec73b29  ggml-vocab-llama-spm.gguf.out
97272e430d53bc7688f52d5e0ad8ea8f163ede9f1bbd1694feaa504797d5d96e  ggml-vocab-llama-bpe.gguf
be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0  ggml-vocab-llama-bpe.gguf.inp
118abf2034a197fc5c9dec5204dfdeee7004c7c70952ae577f66b99e212fab9b  ggml-vocab-llama-bpe.gguf.out
44c2f46b715f585c6ab513970e8a006bfa5badd6108560054921cf598d154d8c  ggml-vocab-qwen2.gguf
be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0  ggml-vocab-qwen2.gguf.inp
de785bb305cc6fa9d43908ed5da337f853c0b79e971348fcfb9f0915a39c5363  ggml-vocab-qwen2.gguf.out
967d7190d11c4842eab697079d98d56c2116e10eb617be355a2733bfc132e326  ggml-vocab-phi-3.gguf
be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0  ggml-vocab-phi-3.gguf.inp
ad6905c925c49c022974fe67e030382e8a4f56eb4489a0b9481dcedb1ec73b29  ggml-vocab-phi-3.gguf.out
fedb892b4e1bd3c1f2fcdae356440b14fb458f4264d586e5c987ed93df4e174d  ggml-vocab-starcoder.gguf
be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0  ggml-vocab-starcoder.gguf.inp
3ef12183c57ad076f9defd8e5eb454f509f5f0865cad35646abb4c4b2d2c5764  ggml-vocab-starcoder.gguf.out
cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac  ggml-vocab-gpt-2.gguf
be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0  ggml-vocab-gpt-2.gguf.inp
48e8c4cb3ad5c37915b225f872222567c1c4dd4d66951aa53460c8d152ff6d60  ggml-vocab-gpt-2.gguf.out
ac3ceda902fed91ccf74312b305d9b86c37e4f8e35fa9cc6ef3ce34fca7d4678  ggml-vocab-refact.gguf
be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0  ggml-vocab-refact.gguf.inp
c7e5c1c5dc1dfd3e0d56576bf699d2aca0b760b80779523ea9d323aad6cd1b88  ggml-vocab-refact.gguf.out
59dc382612866d1fc6c11ea531318d327598f3412d9c8f8600607cdf3030898f  ggml-vocab-mpt.gguf
be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0  ggml-vocab-mpt.gguf.inp
9d0982a7e7950b81bc2e325fb61bb7e295d2238934ab889737494de2dc4d906b  ggml-vocab-mpt.gguf.out
a2f8cfea952ef7c391a6d92a1c309d0bd32e36384d9b9230569a7425732f27d9  ggml-vocab-command-r.gguf
be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0  ggml-vocab-command-r.gguf.inp
d2a601336e422b60a264858c01b14c5d37575fe1f9adfcafc2f3b3707903903f  ggml-vocab-command-r.gguf.out
SUMS
)

if [[ -d $dest ]] && (cd "$dest" && echo "$sums" | sha256sum --check --status 2>/dev/null); then
  echo "fetch-vocab-vectors: $dest is present and verified"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-vocab-vectors: downloading the $package source archive from PyPI"
if ! python3 -m pip download --no-deps --no-binary llama-cpp-python --disable-pip-version-check --quiet \
     --timeout 30 --retries 2 --dest "$tmp" "$package"; then
  echo "fetch-vocab-vectors: could not download $package from PyPI; check that PyPI is reachable" >&2
  exit 1
fi
tarball="$tmp/llama_cpp_python-0.3.36.tar.gz"
if ! echo "$archive_sha256  $tarball" | sha256sum --check --status; then
  echo "fetch-vocab-vectors: $tarball has an unexpected SHA-256 ($(sha256sum "$tarball" | cut -d' ' -f1)); nothing installed" >&2
  exit 1
fi
members=()
while read -r _ name; do members+=("$prefix/$name"); done <<<"$sums"
mkdir -p "$tmp/out"
tar -xzf "$tarball" -C "$tmp/out" --strip-components=4 "${members[@]}"
if ! (cd "$tmp/out" && echo "$sums" | sha256sum --check --quiet); then
  echo "fetch-vocab-vectors: files in $package differ from the pinned SHA-256 sums; nothing installed" >&2
  exit 1
fi
mkdir -p "$dest"
mv -f "$tmp/out"/ggml-vocab-* "$dest/"
echo "fetch-vocab-vectors: installed $(echo "$sums" | wc -l) files in $dest"
