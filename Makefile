# Portcullis: the two commands of the README are `make run` and `make test`.
SWIFT        ?= swift
CONFIG_DIR   ?= config.d
FUZZ_SECONDS ?= 60
BENCH_SECONDS ?= 10
FUZZ_TARGETS ?=

.PHONY: all deps test-deps build release run test fuzz bench lint clean

all: build

deps:
	@.ci/install-deps build

test-deps:
	@.ci/install-deps test

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product portcullis

# Builds in release mode and serves the shipped config.d on 127.0.0.1:5080 with the embedded SQLite.
run: release
	.build/release/portcullis serve --config $(CONFIG_DIR)

# Installs build and test dependencies and every test peer, then runs every test (unit, live loopback,
# end to end with docker-registry and skopeo, the web UI in headless Chromium over WebDriver; the in-process connection crowds in a test process of their
# own, serialized, because they hold thousands of descriptors each),
# holds the REST API to its OpenAPI document with schemathesis, proves `make run`, and replays every fuzz target's
# checked-in corpus plus a fixed-seed pass (deterministic: the random search is `make fuzz`).
# The suites with exit tests (#expect(processExitsWith:)) run in a process of their own: Swift Testing's exit-test
# monitor thread waits on any child (waitid P_ALL, WNOWAIT) and spins while a child of another test (curl, skopeo, a
# server) is a zombie not yet reaped; in a CI run it spun for minutes with its exit tests never finishing.
EXIT_TEST_SUITES = RouterRegistrationTests|MetricsRegistrationTests|ProviderRegistryTests
# The test process holds some 1,500 descriptors at its peak (stores, peers, sockets of tests running in
# parallel), so its soft open-file limit is raised to the hard one first: 1,024 is a common default.
test: test-deps
	$(SWIFT) format lint --strict -r Sources Plugins Tests
	$(SWIFT) build --build-tests
	bash -o pipefail -c 'ulimit -n "$$(ulimit -Hn)" 2>/dev/null; $(SWIFT) test --skip-build --skip ConnectionsPerAddressTests --skip "$(EXIT_TEST_SUITES)" 2>&1 | tee .build/test-output.txt \
		&& $(SWIFT) test --skip-build --filter ConnectionsPerAddressTests 2>&1 | tee -a .build/test-output.txt \
		&& $(SWIFT) test --skip-build --filter "$(EXIT_TEST_SUITES)" 2>&1 | tee -a .build/test-output.txt' \
		|| { echo "swift test failed (a failed test, or the test process crashed: see above)"; \
			.ci/test-summary .build/test-output.txt; exit 1; }
	.ci/api-contract
	.ci/smoke-run
	.ci/fuzz --check
	@.ci/test-summary .build/test-output.txt

# libFuzzer's random search over every parser of untrusted input (docs/fuzzing.md): FUZZ_SECONDS per
# target; FUZZ_TARGETS="JWTFuzzer ScopeFuzzer" picks some.
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) .ci/fuzz $(FUZZ_TARGETS)

# wrk against GET /healthz and against nginx returning a constant body, in one run, with the ratio;
# then token issuance (application tokens, cached passwords; ES256, RS256), a first bcrypt login, p99
# under 100 uncached logins, beside nginx and `openssl speed`; then the password-login timing oracles
# (unknown name, wrong password, locked, disabled; local and local+LDAP chains, 50 tries each); then search at
# a million tags, and the REST API's read rows and the web UI's repository page, dashboard and search page (signed
# in, with their HTML sizes and the assets' total) on a seeded million-tag database beside a 10,000-tag one and
# nginx (seeded databases are kept under .build/bench-seed); then the oidc callback with a warm JWKS beside
# `openssl speed` RS256 verify, and its JWKS fetches per 1,000 sign-ins; then CI workload identity logins (RS256 and
# ES256 job tokens, warm JWKS) beside `openssl speed` verify rates on both cores; then the storage backends: cached and
# uncached token issuance and API writes on SQLite and on PostgreSQL, and two instances on one PostgreSQL, beside nginx.
bench: test-deps
	@BENCH_SECONDS=$(BENCH_SECONDS) .ci/bench && BENCH_SECONDS=$(BENCH_SECONDS) .ci/bench-tokens && .ci/bench-audit && .ci/bench-oracles && .ci/bench-search && .ci/bench-api && .ci/bench-oidc && .ci/bench-workload && .ci/bench-postgres

lint:
	$(SWIFT) format lint --strict -r Sources Plugins Tests

clean:
	rm -rf .build .build-fuzz
