#!/usr/bin/env bash
# Installs, where missing, the Debian toolchains the C and Rust guest SDKs build with: clang + lld (C to wasm32)
# and rustc + libstd-rust-dev-wasm32 (Rust to wasm32-unknown-unknown, by /usr/bin/rustc: a rustup toolchain on
# PATH has no wasm32 standard library). Does nothing when all are present. Run by `npm run setup:toolchains`
# and by .ci/run.
set -euo pipefail
need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v wasm-ld >/dev/null 2>&1 || need+=(lld)
[ -x /usr/bin/rustc ] || need+=(rustc)
compgen -G "/usr/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib" >/dev/null || need+=(libstd-rust-dev-wasm32)
if [ ${#need[@]} -eq 0 ]; then
  echo "toolchains ready: clang, wasm-ld, /usr/bin/rustc with wasm32-unknown-unknown"
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" "${need[@]}"
echo "toolchains ready"
