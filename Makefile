# ecsd — the two README commands are `make run` and `make test`; each installs what it needs.
SHELL := /bin/bash
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED := true

DATA_DIR ?= $(CURDIR)/.ecsd/data
TASKS_DIR ?= $(CURDIR)/examples/tasks

.PHONY: all deps docker build lint test test-unit run sim bench clean

all: build

deps:
	@bash scripts/ensure-deps.sh

docker:
	@bash scripts/ensure-docker.sh

build: deps
	@npx tsc -p tsconfig.json
	@chmod +x dist/src/cli/main.js
	@mkdir -p dist && printf '{"commit":"%s"}\n' "$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" > dist/build-info.json

lint: deps
	@npx biome check .

# Every test, real engine included; ends with the line `N passed, N failed`.
test: deps docker
	@bash scripts/test.sh

# Everything but test/engine/ (the real-engine tests): no root, no Docker needed. Same closing line.
test-unit: deps
	@bash scripts/test.sh 'test/*.test.ts'

# The agent in local mode on the bundled example task definitions (no AWS account needed).
run: deps docker build
	@mkdir -p $(DATA_DIR)
	ECS_DATADIR=$(DATA_DIR) ECS_CLUSTER=$${ECS_CLUSTER:-local} \
		ECS_IMAGE_PULL_BEHAVIOR=$${ECS_IMAGE_PULL_BEHAVIOR:-prefer-cached} \
		./dist/src/cli/main.js --tasks-dir $(TASKS_DIR)

# A loopback ECS backend (the test simulator) for running the agent in ECS mode without AWS; it prints the
# environment to start the agent with and sends a PayloadMessage for each task definition in TASKS_DIR.
sim: deps build
	@node dist/test/support/sim-main.js --port $${ECS_SIM_PORT:-4600} --tasks-dir $(TASKS_DIR)

bench: deps docker build
	@node dist/bench/containers-bench.js
	@node dist/bench/images-bench.js
	@node dist/bench/ecs-bench.js

clean:
	rm -rf dist .ecsd
