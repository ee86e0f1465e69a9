#!/usr/bin/env bash
# SoftHSM2 for the vault's PKCS#11 tests. Source it (". .ci/softhsm2-setup.sh") so the exports
# reach the test run; running it again is harmless: it reuses a token it already made.
#
# Exports what test/services/vault-*.test.ts and bench/vault.ts read:
#   SOFTHSM2_CONF                 the config pointing SoftHSM2 at a private token directory
#   CITYTRUST_PKCS11_LIBRARY      path of libsofthsm2.so
#   CITYTRUST_PKCS11_TOKEN        token label (citytrust)
#   CITYTRUST_PKCS11_PIN          user PIN (test-only value, generated per token directory)
#   CITYTRUST_PKCS11_SO_PIN       security-officer PIN (test-only value)
set -euo pipefail

if ! command -v softhsm2-util >/dev/null || ! command -v pkcs11-tool >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends softhsm2 opensc >/dev/null
fi

lib=""
for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  if [ -f "$candidate" ]; then lib="$candidate"; break; fi
done
if [ -z "$lib" ]; then echo "softhsm2-setup: libsofthsm2.so not found" >&2; return 1 2>/dev/null || exit 1; fi

base="${CITYTRUST_SOFTHSM_DIR:-${TMPDIR:-/tmp}/citytrust-softhsm2}"
mkdir -p "$base/tokens"
chmod 700 "$base"
cat >"$base/softhsm2.conf" <<CONF
directories.tokendir = $base/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF

export SOFTHSM2_CONF="$base/softhsm2.conf"
export CITYTRUST_PKCS11_LIBRARY="$lib"
export CITYTRUST_PKCS11_TOKEN="citytrust"
if [ ! -f "$base/pins" ]; then
  # Throwaway PINs for a throwaway token: random per machine, never committed.
  printf 'pin=%s\nso=%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$base/pins"
  chmod 600 "$base/pins"
fi
CITYTRUST_PKCS11_PIN="$(sed -n 's/^pin=//p' "$base/pins")"
CITYTRUST_PKCS11_SO_PIN="$(sed -n 's/^so=//p' "$base/pins")"
export CITYTRUST_PKCS11_PIN CITYTRUST_PKCS11_SO_PIN

if ! softhsm2-util --show-slots 2>/dev/null | grep -q "Label: *citytrust *$"; then
  softhsm2-util --init-token --free --label citytrust --so-pin "$CITYTRUST_PKCS11_SO_PIN" --pin "$CITYTRUST_PKCS11_PIN" >/dev/null
fi
echo "softhsm2-setup: token 'citytrust' ready ($SOFTHSM2_CONF)"
