#!/usr/bin/env bash
# Regenerates the Swift code for Protos/*.proto into Sources/Deployment/Generated/.
# The generated files are committed; run this only after changing a .proto file.
#
# Needs protoc (Debian: protobuf-compiler, installed by scripts/setup.sh). The two Swift
# plugins, protoc-gen-swift and protoc-gen-grpc-swift-2, are built from the same package
# versions the project depends on, in a scratch folder (.build-protoc, git-ignored).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch="$root/.build-protoc"
protobuf_version=1.39.0
grpc_protobuf_version=2.4.1
config=${PLUGIN_CONFIG:-debug}   # the plugins' speed does not matter; debug builds faster

command -v protoc >/dev/null || { echo "generate-proto: protoc is missing (apt-get install protobuf-compiler)" >&2; exit 1; }
mkdir -p "$scratch"

build_plugin() {  # repository, version, product
  local name; name=$(basename "$1")
  if [[ ! -d $scratch/$name ]]; then
    git clone -q "$1" "$scratch/$name"
  fi
  git -C "$scratch/$name" -c advice.detachedHead=false checkout -q "$2"
  swift build -c "$config" --package-path "$scratch/$name" --product "$3" >&2
  echo "$(swift build -c "$config" --package-path "$scratch/$name" --show-bin-path)/$3"
}

swift_plugin=$(build_plugin https://github.com/apple/swift-protobuf "$protobuf_version" protoc-gen-swift)
grpc_plugin=$(build_plugin https://github.com/grpc/grpc-swift-protobuf "$grpc_protobuf_version" protoc-gen-grpc-swift-2)

out="$root/Sources/Deployment/Generated"
mkdir -p "$out"
protoc --proto_path="$root/Protos" \
  --plugin=protoc-gen-swift="$swift_plugin" --swift_out="$out" --swift_opt=Visibility=Public \
  --plugin=protoc-gen-grpc-swift-2="$grpc_plugin" --grpc-swift-2_out="$out" \
  --grpc-swift-2_opt=Visibility=Public,Client=true,Server=true \
  "$root"/Protos/*.proto
echo "generate-proto: wrote $(ls "$out" | tr '\n' ' ')"
