# Everyday commands. `make test` is what CI runs (scripts/test).
.PHONY: fmt clippy test bench check

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

check: fmt clippy

test:
	scripts/test

bench:
	cargo bench -p storage --bench backends
