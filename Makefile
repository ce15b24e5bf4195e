# Keyport's two commands: `make run` and `make test`. Each installs what it
# needs on a fresh machine (idempotently, quickly when already there).
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO_LEPTOS_VERSION := 0.3.10
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/version = |"/, ""); print }' Cargo.lock)
E2E := end2end
# cargo-leptos takes wasm-bindgen and wasm-opt from PATH instead of downloading them.
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/$(E2E)/node_modules/.bin:$(PATH)
# cargo-leptos compiles this into leptos_config; setting it for `cargo test`
# too keeps the two builds from invalidating each other.
export LEPTOS_OUTPUT_NAME := keyport

ATTACK_BASE ?= http://127.0.0.1:3000

.PHONY: help run test bench attack setup setup-rust setup-node setup-browser setup-wrk build build-release test-rust test-sdk test-e2e lint clean

help:
	@echo "make run    start the portal with demo data on http://127.0.0.1:3000"
	@echo "make test   run every test (Rust, the public Python SDK, Playwright)"
	@echo "make bench  measure throughput (wrk), latency, CPU per request, first-load bytes, hydration and RSS (target/bench.json)"
	@echo "make lint   cargo fmt --check and clippy on both feature sets"
	@echo "make attack replay the attacks of docs/SECURITY.md against a running portal (make run)"

## --- set-up -----------------------------------------------------------------

setup: setup-rust setup-node

setup-rust:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@if ! cargo leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)"; then \
		echo "Installing cargo-leptos $(CARGO_LEPTOS_VERSION) (about 20 minutes, once)"; \
		cargo install --locked cargo-leptos@$(CARGO_LEPTOS_VERSION); \
	fi
	@if ! wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)"; then \
		echo "Installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (a few minutes, once)"; \
		CARGO_PROFILE_RELEASE_LTO=false cargo install --force wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); \
	fi

# npm packages: Playwright, axe-core and binaryen (wasm-opt for release builds).
setup-node: $(E2E)/node_modules/.installed

$(E2E)/node_modules/.installed: $(E2E)/package.json $(E2E)/package-lock.json
	cd $(E2E) && npm ci --no-audit --no-fund
	touch $@

# Playwright's own browser download cannot work here: use Debian's Chromium.
setup-browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

# The bench's load generator.
setup-wrk:
	@if ! command -v wrk >/dev/null; then \
		echo "Installing Debian's wrk"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	fi

## --- build and run -----------------------------------------------------------

# --split: the lazy island (`#[island(lazy)]`: the provider console) becomes its own wasm
# chunk, fetched only by the pages that show it (docs/FIRST-LOAD.md).
build: setup
	cargo leptos build --split

# --precompress writes .br (brotli, quality 11) and .gz beside each asset;
# the file service (leptos_axum) sends them with Content-Encoding and Vary,
# instead of compressing the wasm again at every first load.
build-release: setup
	cargo leptos build --release --precompress --split

run: build-release
	mkdir -p data
	LEPTOS_SITE_ROOT=target/site ./target/release/keyport serve --demo

## --- tests --------------------------------------------------------------------

test: setup setup-browser test-rust test-sdk test-e2e

# The Rust suite runs once on SQLite and once on PostgreSQL (a fresh
# database, keyport_test, each test in its own schema). Without a reachable
# PostgreSQL the second run is skipped, loudly; under CI it is an error.
PG_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/keyport_test

test-rust:
	@echo "== Rust tests on SQLite =="
	cargo test --features ssr
	@if psql "$(PG_ADMIN_URL)" -qAtc 'SELECT 1' >/dev/null 2>&1; then \
		echo "== Rust tests on PostgreSQL ($(PG_TEST_URL)) =="; \
		psql "$(PG_ADMIN_URL)" -qc 'DROP DATABASE IF EXISTS keyport_test WITH (FORCE)' -c 'CREATE DATABASE keyport_test' && \
		KEYPORT_TEST_DATABASE_URL="$(PG_TEST_URL)" cargo test --features ssr; \
	elif [ -n "$$CI" ]; then \
		echo "PostgreSQL is not reachable at $(PG_ADMIN_URL): CI must run the PostgreSQL suite." >&2; exit 1; \
	else \
		echo "!! SKIPPED the PostgreSQL run: PostgreSQL is not reachable at $(PG_ADMIN_URL) (psql needed)."; \
	fi

# The public Python SDK (zscaler-sdk-python, pinned with its dependencies in
# tests/sdk/requirements.txt) against the real server: the script starts the
# debug binary on a free port over a fresh demo database. `cargo build
# --features ssr` is cargo-leptos's own server build, so test-e2e's `cargo
# leptos build` finds the binary built.
SDK_VENV := target/sdk-venv

test-sdk: $(SDK_VENV)/.installed
	cargo build --features ssr --bin keyport
	$(SDK_VENV)/bin/python tests/sdk/test_zia_legacy.py target/debug/keyport

# A fresh virtualenv whenever the pins change, so nothing unpinned lingers.
$(SDK_VENV)/.installed: tests/sdk/requirements.txt
	@python3 -c 'import ensurepip' 2>/dev/null || { \
		echo "Installing Debian's python3-venv"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; \
	}
	rm -rf $(SDK_VENV)
	python3 -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt
	touch $@

# Playwright starts its own server (debug build, fresh database, port 3100).
test-e2e: build
	cd $(E2E) && npx playwright test

## --- benchmarks -------------------------------------------------------------

# Release build, then examples/bench.rs drives it with wrk (64 connections,
# BENCH_SECONDS per run, 5 by default) on SQLite and, when reachable, on a
# fresh PostgreSQL database keyport_bench (README.md#performance-make-bench).
PG_BENCH_URL ?= postgres://postgres@127.0.0.1:5432/keyport_bench

bench: setup setup-browser setup-wrk build-release
	cargo build --release --example bench --features ssr
	@if psql "$(PG_ADMIN_URL)" -qAtc 'SELECT 1' >/dev/null 2>&1; then \
		psql "$(PG_ADMIN_URL)" -qc 'DROP DATABASE IF EXISTS keyport_bench WITH (FORCE)' -c 'CREATE DATABASE keyport_bench' && \
		BENCH_PG_URL="$(PG_BENCH_URL)" ./target/release/examples/bench; \
	else \
		echo "!! PostgreSQL not reachable at $(PG_ADMIN_URL): benchmarking SQLite only"; \
		./target/release/examples/bench; \
	fi

# The attacks of docs/SECURITY.md replayed over HTTP against a running
# portal (`make run` in another terminal): a table of what each got.
attack:
	python3 tests/attack/replay.py --base $(ATTACK_BASE)

lint:
	cargo fmt --all -- --check
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

clean:
	cargo clean
	rm -rf $(E2E)/node_modules $(E2E)/test-results
