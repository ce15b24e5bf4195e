#!/usr/bin/env bash
# Starts the debug build on a fresh demo database for the browser tests.
set -euo pipefail
port="${1:-3100}"
root="$(cd "$(dirname "$0")/.." && pwd)"
data="$root/target/e2e-data"
rm -rf "$data"
mkdir -p "$data"
cd "$root"
export LEPTOS_SITE_ROOT="$root/target/site"
export DATABASE_URL="sqlite://$data/keyport.db"
export RUST_LOG="${RUST_LOG:-warn}"
# The spec's 2 requests/second per organisation would make the browser tests
# wait; the Rust tests cover the limit itself.
export KEYPORT_API_RATE_PER_SECOND=50
export KEYPORT_SUBMIT_RATE_PER_SECOND=50
# The OAuth test serves its JWKS over plain http on localhost.
export KEYPORT_ALLOW_INSECURE_JWKS=true
exec "$root/target/debug/keyport" serve --demo --addr "127.0.0.1:$port"
