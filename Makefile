# MFA Cluster: set-up, demo, tests, benchmarks, fuzzing.
SWIFT ?= swift
SYSTEM_PACKAGES := libzmq3-dev liblz4-dev libxxhash-dev pkg-config
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= FuzzMessages FuzzPages
FUZZ_BUILD := .build-fuzz
FUZZ_OUT := fuzz-out
PEERS_ARGS ?=

.PHONY: deps build demo test bench peers fuzz format clean

## Installs the system libraries the package links, when any is missing.
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

build: deps
	$(SWIFT) build -c release

## Starts a local cluster (cluster/local up: a coordinator and three workers on loopback), drives
## the shipped trace excerpt through it, prints what happened, and shuts it down (cluster/local
## down, also when the run fails).
demo: build
	@export MFA_RUN_DIR="$$(mktemp -d)"; \
	cluster/local up --workers 3 --memory 8MiB || exit 1; \
	status=0; \
	.build/release/mfa-coordinator run --trace data/mooncake-excerpt.jsonl \
	  --coordinator "$$(awk '$$1 == "client" { print $$2 }' "$$MFA_RUN_DIR/endpoints")" || status=$$?; \
	cluster/local down; \
	exit $$status

## Runs every test target.
test: deps
	$(SWIFT) test --disable-xctest

bench: build
	.build/release/mfa-coordinator bench kernels

## Runs `bench kernels`, then PyTorch and ONNX Runtime on the same shapes and threads, and prints
## ours/theirs (scripts/peers.sh; its environment is .venv-peers/). Options in PEERS_ARGS, for
## example PEERS_ARGS="--threads 2 --case decode-paged-f16".
peers: build
	scripts/peers.sh $(PEERS_ARGS)

## Builds each libFuzzer target of FUZZ_TARGETS (Fuzz/<name>/) with MFA_FUZZ=1 and runs it for
## FUZZ_SECONDS. Each grows its corpus in fuzz-out/<name>/corpus, seeded from the committed
## Fuzz/Corpus/<name>/; findings land in fuzz-out/<name>/findings/.
fuzz: deps
	@for t in $(FUZZ_TARGETS); do \
	  MFA_FUZZ=1 $(SWIFT) build --build-path $(FUZZ_BUILD) --product $$t || exit 1; \
	done
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_OUT)/$$t/corpus $(FUZZ_OUT)/$$t/findings; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/debug/$$t $(FUZZ_OUT)/$$t/corpus Fuzz/Corpus/$$t \
	    -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_OUT)/$$t/findings/ -print_final_stats=1 || exit 1; \
	done

## Formats every Swift source in place with the toolchain's swift-format and `.swift-format`.
format:
	$(SWIFT) format --in-place --parallel --recursive Package.swift Sources Tests Fuzz

clean:
	rm -rf .build .build-*
