# The two commands: `make up` runs the platform, `make test` runs the tests.
# Each sets itself up on a fresh machine that has only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test test-kafka kafka browser unit integration e2e lint schemas bench clean

$(STAMP): pyproject.toml contracts/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ./contracts -e ".[embedded,test]"
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/schuldenlab up

test: $(STAMP) lint browser
	$(BIN)/python -m pytest

# Debian's Chromium for the website's browser tests (Playwright drives it through executable_path; its own
# browser download cannot work here). Installed when missing and this user may (root, as CI runs).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
		echo "Chromium is missing and cannot be installed by this user: the browser tests will skip (or fail under CI)"

# The Apache Kafka tier: a three-broker KRaft cluster with SASL/SCRAM and ACLs (needs Java 17+ and Maven).
# The runtime's broker tests run again on it with the idempotent producer, then the tier's own tests.
test-kafka: $(STAMP) kafka
	$(BIN)/python -m pytest --apache-kafka tests/integration/runtime tests/kafka

# Apache Kafka's jars, resolved from Maven Central into ~/.cache/schuldenlab/kafka-<version>/ (not the repository).
kafka: $(STAMP)
	$(BIN)/python -m tests.support.apache_kafka

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/contract

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m schuldenlab_contracts.schemas --check
	$(BIN)/python -m schuldenlab_contracts.schemas --compat contracts/schemas/baseline/v1

schemas: $(STAMP)
	$(BIN)/python -m schuldenlab_contracts.schemas --write

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .schuldenlab .pytest_cache
