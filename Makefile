# The developer's verbs. Every target creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: install demo test verify unit lint typecheck synth deploy local-up browser screenshot clean moto-next profile jsonata-suite

# Every process the targets start (test workers, the CLI's subprocesses, the synthesis) reuses the
# bytecode the first one compiled, whatever the shell says: the suite starts ~100 Python processes.
unexport PYTHONDONTWRITEBYTECODE

# uv resolves and installs the same packages as pip, in seconds rather than minutes (modules are
# compiled when first imported, not all at install).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.5,<1'
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[local,cdk,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## the main job: the whole pipeline on the embedded local AWS, reconciled
	$(BIN)/eventflow demo

# Two pytest-xdist workers, one per core; `make test PARALLEL=` runs the suite in one process.
PARALLEL ?= -n 2 --dist loadgroup

test: $(STAMP) browser  ## every tier but the drills: unit, adapters, statemachine, conformance, infrastructure, end to end, console
	$(BIN)/python -m pytest $(PARALLEL)

verify: $(STAMP)  ## the long drills: a small chaos run, the StartExecution quota run, ...
	$(BIN)/python -m pytest -m drill

# Debian's Chromium for the console's browser tests (Playwright does not download browsers
# here). Without root or apt the install is skipped, and so are those tests, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	  || echo "chromium could not be installed: the browser tests will be skipped"; }

# The newest moto 5.x in a scratch environment (the pin in pyproject.toml untouched): the local and
# conformance tiers run on it, then each entry of workflow/local/moto_registry.py says whether it
# is still needed, fixed upstream (delete it) or broken (why). See docs/local-runtime.md.
MOTO_NEXT := .venv-moto-next
moto-next:  ## the newest moto 5.x: the local and conformance tiers, and each moto registry entry's verdict
	$(PYTHON) -m venv $(MOTO_NEXT)
	$(MOTO_NEXT)/bin/pip install --quiet 'uv>=0.5,<1'
	$(MOTO_NEXT)/bin/uv pip install --quiet --python $(MOTO_NEXT)/bin/python -e '.[local,cdk,dev]'
	$(MOTO_NEXT)/bin/uv pip install --quiet --python $(MOTO_NEXT)/bin/python -U 'moto[server]>=5,<6'
	@tiers=0; $(MOTO_NEXT)/bin/python -m pytest $(PARALLEL) -q -p no:cacheprovider tests/local tests/conformance || tiers=$$?; \
	  $(MOTO_NEXT)/bin/python -m workflow.local.moto_registry; \
	  exit $$tiers

profile: $(STAMP)  ## where the local engine's time goes, by layer (py-spy over 1,500 executions)
	mkdir -p .eventflow
	$(BIN)/py-spy record --gil --nonblocking --rate 200 --format raw --output .eventflow/profile.txt -- \
	  $(BIN)/python -m workflow.drills.profile --run 1500
	$(BIN)/python -m workflow.drills.profile --summarize .eventflow/profile.txt

jsonata-suite: $(STAMP)  ## JSONata 2.0.6's own test suite on the engine: passed, failed, error codes, µs (docs/local-runtime.md)
	$(BIN)/python -m workflow.drills.jsonata_suite

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

screenshot: $(STAMP) browser  ## docs/console.png: a failed execution in the console, from a real local run
	mkdir -p docs
	EVENTFLOW_SCREENSHOT_TO=docs/console.png $(BIN)/python -m pytest -q tests/console/test_browser.py -k screenshot

# The state machine's definition, with the stack's substitutions, through Step Functions'
# ValidateStateMachineDefinition (an embedded endpoint), for both workflow types.
ASL ?= statemachine.asl.json

lint: $(STAMP)  ## ruff; the state machine's definition through ValidateStateMachineDefinition
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/eventflow validate --definition $(ASL)

typecheck: $(STAMP)
	$(BIN)/mypy workflow functions

synth: $(STAMP)
	npx --yes aws-cdk@2 synth

deploy: $(STAMP)  ## needs AWS credentials and a bootstrapped account (npx aws-cdk@2 bootstrap)
	npx --yes aws-cdk@2 deploy --outputs-file .eventflow/aws-outputs.json

local-up: $(STAMP)
	$(BIN)/eventflow local up

clean:
	rm -rf $(VENV) .eventflow cdk.out .pytest_cache .ruff_cache .mypy_cache
