# MFA Cluster: set-up, demo, tests, benchmarks, fuzzing.
SWIFT ?= swift
SYSTEM_PACKAGES := libzmq3-dev liblz4-dev libxxhash-dev pkg-config
FUZZ_SECONDS ?= 600

.PHONY: deps build demo test bench fuzz clean

## Installs the system libraries the package links, when any is missing.
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

build: deps
	$(SWIFT) build -c release

## Starts a local cluster, drives a workload through it, prints what happened, shuts down.
demo: build
	.build/release/mfa-coordinator run

## Runs every test target.
test: deps
	$(SWIFT) test

bench: build
	.build/release/mfa-coordinator bench kernels

clean:
	rm -rf .build .build-*
