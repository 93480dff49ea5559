# rv-batch-cfn: `make help` lists the targets. Settings come from settings.mk when present
# (copy settings.mk.template).
-include settings.mk

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLI := $(BIN)/rv-batch-cfn
TEMPLATE := cloudformation/template.yml
SOURCES := $(shell find rv_batch_cfn -name '*.py' 2>/dev/null)

.DEFAULT_GOAL := help
.PHONY: help template lint test update-golden bench clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-20s %s\n", $$1, $$2}'

$(BIN)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.test-installed: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(TEMPLATE): $(BIN)/.installed $(SOURCES)
	$(CLI) template -o $@

template: $(TEMPLATE) ## generate and lint cloudformation/template.yml (creates .venv on first use)

lint: $(BIN)/.installed ## cfn-lint the committed template, informational checks included
	$(CLI) lint $(TEMPLATE)

test: $(BIN)/.test-installed ## install what the tests need and run them
	scripts/install-test-tools
	$(BIN)/python -m pytest

update-golden: $(BIN)/.installed ## regenerate the golden templates under tests/golden after a deliberate change
	$(BIN)/python -m tests.golden_configs

bench: $(BIN)/.installed ## median time of import, build, render and lint
	$(BIN)/python scripts/bench.py

clean: ## remove the virtual environment and caches (not the committed templates)
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# --- the deployed stack: rv-config and deploy ---------------------------------------------------
# AWS_PROFILE and AWS_REGION (settings.mk or the environment) pick the account and region.
AWS_ARGS = $(if $(AWS_PROFILE),--profile $(AWS_PROFILE)) $(if $(AWS_REGION),--region $(AWS_REGION))

.PHONY: rv-config deploy
rv-config: $(BIN)/.installed ## print Raster Vision's [BATCH] section from STACK=name (WRITE=1 merges it into ~/.rastervision/default; FORMAT=aws_batch|env; JOB_DEF_STACK=name)
	@test -n "$(STACK)" || { echo "usage: make rv-config STACK=<stack name> [WRITE=1] [FORMAT=aws_batch|env] [JOB_DEF_STACK=<name>]" >&2; exit 2; }
	$(CLI) rv-config --stack '$(STACK)' $(AWS_ARGS) $(if $(FORMAT),--format $(FORMAT)) $(if $(WRITE),--write) $(if $(JOB_DEF_STACK),--job-def-stack '$(JOB_DEF_STACK)')

deploy: $(TEMPLATE) ## create or update STACK=name from the template through a change set (PARAMS="Key=Value ...", YES=1 skips the question)
	@test -n "$(STACK)" || { echo "usage: make deploy STACK=<stack name> [PARAMS=\"VPC=vpc-... SubnetIds=subnet-a,subnet-b\"] [YES=1]" >&2; exit 2; }
	$(CLI) deploy --stack '$(STACK)' --template $(TEMPLATE) $(AWS_ARGS) $(foreach p,$(PARAMS),--param '$(p)') $(if $(YES),--yes)

# --- per-project job definitions ------------------------------------------------------------
JOB_DEF_TEMPLATE := cloudformation/job-definitions.yml

.PHONY: job-def-template
$(JOB_DEF_TEMPLATE): $(BIN)/.installed $(SOURCES)
	$(CLI) job-def-template -o $@

job-def-template: $(JOB_DEF_TEMPLATE) ## generate and lint cloudformation/job-definitions.yml (per-project job definitions on a shared stack)
