# Switchboard: `make run` serves the API locally, `make test` runs every check.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
STATICCHECK_VERSION := v0.8.2

# SAM's makefile build method calls build-<LogicalId>, one per function.
-include functions/build.mk

.PHONY: run test lint unit stack-test bench generate tools fuzz fuzz-api console console-dist browser-test

## run: the console and the whole API on http://127.0.0.1:3000 (PORT overrides), embedded engine, demo data
run: console
	$(GO) run ./infra/localserver

CONSOLE_DIR := functions/console/web

# npm ci only when the lock file changed since the last install (npm rewrites
# node_modules/.package-lock.json on every install).
$(CONSOLE_DIR)/node_modules/.package-lock.json: $(CONSOLE_DIR)/package-lock.json
	cd $(CONSOLE_DIR) && npm ci --no-audit --no-fund

## console: type-check and build the web console into functions/console/web/dist (embedded by go:embed)
console: $(CONSOLE_DIR)/node_modules/.package-lock.json
	rm -rf $(CONSOLE_DIR)/dist/assets $(CONSOLE_DIR)/dist/index.html $(CONSOLE_DIR)/dist/favicon.svg
	cd $(CONSOLE_DIR) && npm run build

# console-dist: the console's build, remade only when a source is newer than it. It
# is what sam build's ConsoleFunction needs (functions/build.mk): sam builds functions
# in parallel over this tree, and `make console` there would delete the assets while
# other builds read them.
CONSOLE_SOURCES := $(shell find $(CONSOLE_DIR)/src $(CONSOLE_DIR)/public -type f 2>/dev/null) \
	$(wildcard $(CONSOLE_DIR)/index.html $(CONSOLE_DIR)/package.json $(CONSOLE_DIR)/tsconfig*.json $(CONSOLE_DIR)/vite.config.*)
$(CONSOLE_DIR)/dist/index.html: $(CONSOLE_SOURCES) $(CONSOLE_DIR)/node_modules/.package-lock.json
	$(MAKE) --no-print-directory console
console-dist: $(CONSOLE_DIR)/dist/index.html

## browser-test: the console's Playwright tests in Debian's Chromium against the local server
browser-test: console
	bash infra/stack/browser-test.sh

## test: lint, then the suite on DynamoDB Local and moto, cfn-lint and sam build
test: lint stack-test

tools:
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: tools
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...

## unit: the Go suite alone, on the embedded engine
unit:
	$(GO) test -count=1 -timeout 30m ./...

stack-test:
	bash infra/stack/test.sh

## bench: DynamoDB requests and capacity units per route and their on-demand cost, each
## function's cold start and binary size against a minimal Lambda, the adapter/GetItem
## latency ratio; on DynamoDB Local. BENCH_SKIP_SCALE, BENCH_SKIP_COLDSTART,
## BENCH_COLDSTART_RUNS (5) and BENCH_COLDSTART_FUNCTIONS (a comma list) narrow it.
bench:
	GO=$(GO) bash infra/stack/with-stack.sh $(GO) run ./infra/bench

## generate: functions/, events/, template.yaml and functions/build.mk from the route table
generate:
	$(GO) run ./infra/gen

## fuzz-api: schemathesis against the local server, every operation of the OpenAPI document (part of `make test`)
fuzz-api:
	bash infra/stack/fuzz-api.sh

## fuzz: run each Go fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCursor$$' -fuzztime $(FUZZTIME) ./shared/store
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./shared/customerimport
	$(GO) test -run '^$$' -fuzz '^FuzzInviteBody$$' -fuzztime $(FUZZTIME) ./shared/api
