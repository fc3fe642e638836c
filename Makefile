# mailferry: `make test` is what CI runs (.ci/run). Everything here works on a
# fresh Debian/Ubuntu machine with Go installed; as root it installs Dovecot
# for the tests against a real IMAP/POP3 server.

GO          ?= go
GOBIN_DIR   := $(shell $(GO) env GOPATH)/bin
STATICCHECK := $(GOBIN_DIR)/staticcheck
STATICCHECK_VERSION := v0.8.2
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
FUZZTIME    ?= 10s
# Go source files, without test data (which may hold deliberately odd files).
GOFILES      = $(shell find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*')

.PHONY: all build test soak dovecot fmt-check vet staticcheck fuzz bench bench-peers clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o mailferry ./cmd/mailferry

test: dovecot fmt-check vet staticcheck
	MAILFERRY_REQUIRE_DOVECOT=1 $(GO) test -race -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=500x

# The long forms of the property, crash, interrupt and network-fault tests
# (the short forms run in `make test`): the identity property over every
# source/sink pair with eight seeds and larger folders; at least 24
# SIGINT/SIGTERM stops, 24 SIGKILLs and 54 injected faults per direction.
# Each test logs the counts it achieved (the lines from campaign_test.go and
# crash_test.go); MAILFERRY_CRASH_SEED replays a schedule.
SOAK_TESTS = 'TestCampaign|TestCrash|TestDeleteSourceKilled'
soak: dovecot
	MAILFERRY_SOAK=1 MAILFERRY_REQUIRE_DOVECOT=1 $(GO) test -race -count=1 -timeout 60m -run '^TestIdentity' ./sink/...
	MAILFERRY_SOAK=1 $(GO) test -race -v -count=1 -timeout 120m -run $(SOAK_TESTS) ./internal/conformance ./source/pop3/pop3e2e

# The Dovecot tests need dovecot-imapd and dovecot-pop3d. Installed only when
# missing and when we may (root with apt-get); otherwise they fail under
# MAILFERRY_REQUIRE_DOVECOT=1 with a message saying so.
dovecot:
	@if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing dovecot-imapd dovecot-pop3d"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update -qq >/dev/null && \
			apt-get install -y -qq --no-install-recommends dovecot-imapd dovecot-pop3d >/dev/null; \
		else \
			echo "dovecot is not installed: install dovecot-imapd and dovecot-pop3d, or the Dovecot tests will fail" >&2; \
		fi; \
	fi

fmt-check:
	@bad=$$(gofmt -l $(GOFILES)); \
	if [ -n "$$bad" ]; then echo "gofmt needed on:"; echo "$$bad"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# A short run of every fuzz target (FUZZTIME each, default 10s). make test
# runs 500 inputs of each (FUZZTIME=500x): a count, not a time, because a
# time also bounds gathering the baseline coverage, which a cold build cache
# can take longer than.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# Go benchmarks of the hot paths, then bench/run.sh: mailferry against
# mbsync, offlineimap3, mpop, getmail6 and the server's own limits on a
# private Dovecot (bench/README.md; MESSAGES=2000 ROUNDS=1 for a short run).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	bench/run.sh

bench-peers:
	bench/run.sh

clean:
	rm -f mailferry
