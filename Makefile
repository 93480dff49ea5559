# rv-batch-cfn: `make help` lists the targets.
#
# Settings, first found wins: the command line (make deploy AWS_REGION=eu-west-1), the
# environment (AWS_REGION=eu-west-1 make deploy), settings.mk (copy settings.mk.template), then
# each command's own default. make lets a makefile's `X := value` beat the environment, and
# settings.mk files made from older templates use `:=`; so every variable of the environment that
# settings.mk assigns is put back to the environment's value once the file is read.
# SETTINGS_MK=path reads another settings file.
SETTINGS_MK ?= settings.mk
_ENVIRONMENT_VARIABLES := $(foreach v,$(.VARIABLES),$(if $(filter environment,$(origin $(v))),$(v)))
-include $(SETTINGS_MK)
$(foreach v,$(_ENVIRONMENT_VARIABLES),$(if $(filter file,$(origin $(v))),$(eval $(v) := $$(shell printenv '$(v)'))))

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLI := $(BIN)/rv-batch-cfn
TEMPLATE := cloudformation/template.yml
SOURCES := $(shell find rv_batch_cfn -name '*.py' 2>/dev/null)
# A path-based editable install: Raster Vision finds plugins by listing the `rastervision`
# namespace package (pkgutil), which cannot see packages behind setuptools' default editable
# import hook, so the batch_retry runner would be invisible to `rastervision run`.
EDITABLE := --config-settings editable_mode=compat
# The lowest Raster Vision the batch_retry runner supports (0.30.0: its stock runner is the one
# the plugin extends), in an environment of its own for tests/plugin/test_lowest_raster_vision.py;
# the highest (0.31.x) is the test extra's. Its version is requirements/rv-lowest.in's.
RV_LOWEST_VENV := .venv-rv030
# checkov pins boto3 and botocore exactly: it has an environment of its own, so that the suite
# runs the boto3 setup.cfg's ranges give (tests/template/test_security_scan.py runs it there).
CHECKOV_VENV := .venv-checkov
# The lock files (requirements/*.txt, `make lock`): every package at an exact version with its
# hashes, installed by uv, which itself comes from PyPI through pip, hash-checked
# (requirements/uv.txt), into .venv/uv-tool.
LOCKS := requirements
UV_DIR := $(VENV)/uv-tool
UV := $(UV_DIR)/bin/uv
# The locks hold for every platform and every Python setup.cfg's python_requires admits.
PYTHON_LOWEST := $(shell sed -n 's/^python_requires *= *>= *//p' setup.cfg)
UV_SYNC = $(UV) pip install --quiet --require-hashes --python
# AWS_PROFILE and AWS_REGION (settings.mk or the environment) pick the account and region of
# the commands that call AWS; unset, the AWS CLI's usual defaults apply.
AWS_ARGS = $(if $(AWS_PROFILE),--profile $(AWS_PROFILE)) $(if $(AWS_REGION),--region $(AWS_REGION))

.DEFAULT_GOAL := help
.PHONY: help template lint test fuzz bench clean hooks

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {name[NR] = $$1; text[NR] = $$2; \
			if (length($$1) > width) width = length($$1)} \
			END {format = "  make %-" width "s  %s\n"; \
				for (i = 1; i <= NR; i++) printf format, name[i], text[i]}'

$(UV): $(LOCKS)/uv.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps --upgrade \
		--target $(UV_DIR) -r $(LOCKS)/uv.txt
	touch $@

# The runtime dependencies and the build backend from their locks, then the project itself (its
# dependencies are those), built with the locked setuptools rather than whatever is newest.
$(BIN)/.installed: $(LOCKS)/runtime.txt $(LOCKS)/build.txt setup.cfg pyproject.toml $(UV)
	$(UV_SYNC) $(BIN)/python -r $(LOCKS)/runtime.txt -r $(LOCKS)/build.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e . $(EDITABLE)
	touch $@
	@echo "rv-batch-cfn is installed in $(VENV): run '. $(BIN)/activate' to put it on PATH" >&2

$(BIN)/.test-installed: $(LOCKS)/test.txt $(BIN)/.installed
	$(UV_SYNC) $(BIN)/python -r $(LOCKS)/test.txt
	touch $@

$(TEMPLATE): $(BIN)/.installed $(SOURCES)
	$(CLI) template -o $@

template: $(TEMPLATE) ## generate and lint cloudformation/template.yml, packer/template-gpu.json, cloudformation/job-definitions.yml and docs/console-parameters.md (creates .venv on first use)

lint: $(BIN)/.installed ## cfn-lint the committed templates, informational checks included
	$(CLI) lint $(TEMPLATE)
	$(CLI) lint cloudformation/job-definitions.yml

# Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE, as some
# containers set): the suite starts many Python processes, and each would compile the project's
# modules again (a fifth of the suite's time).
TEST_TOOLS := $(BIN)/cfn-guard $(RV_LOWEST_VENV)/.installed $(CHECKOV_VENV)/.installed
test: $(BIN)/.test-installed $(TEST_TOOLS) ## install what the tests need (from the lock files) and run them
	scripts/install-test-tools
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

$(RV_LOWEST_VENV)/.installed: $(LOCKS)/rv-lowest.txt $(UV)
	test -x $(RV_LOWEST_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(RV_LOWEST_VENV)
	$(UV_SYNC) $(RV_LOWEST_VENV)/bin/python -r $<
	touch $@

$(CHECKOV_VENV)/.installed: $(LOCKS)/checkov.txt $(UV)
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(UV_SYNC) $(CHECKOV_VENV)/bin/python -r $<
	touch $@

# --- The lock files and the drift check --------------------------------------------------------
# `make lock` keeps each locked version that still fits setup.cfg's ranges (and the .in files of
# requirements/) and resolves what changed; UPGRADE=1 takes the newest version of everything.
# runtime.txt is setup.cfg's install_requires; test.txt adds the test extra, constrained to
# runtime.txt so that `make test` only adds to what `make template` installed.
LOCK = $(UV) pip compile --quiet --universal --python-version $(PYTHON_LOWEST) --generate-hashes \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
.PHONY: lock drift
lock: $(UV) ## regenerate the lock files of requirements/ within setup.cfg's ranges (UPGRADE=1: the newest versions)
	$(LOCK) $(LOCKS)/uv.in -o $(LOCKS)/uv.txt
	$(LOCK) $(LOCKS)/build.in -o $(LOCKS)/build.txt
	$(LOCK) setup.cfg -o $(LOCKS)/runtime.txt
	$(LOCK) setup.cfg --extra test --constraint $(LOCKS)/runtime.txt -o $(LOCKS)/test.txt
	$(LOCK) $(LOCKS)/checkov.in -o $(LOCKS)/checkov.txt
	$(LOCK) $(LOCKS)/rv-lowest.in -o $(LOCKS)/rv-lowest.txt

# The newest versions setup.cfg (and requirements/checkov.in) admit, not the lock's, in
# environments of their own; the suite then runs there. A failure here that `make test` does not
# show is a release that will break a user's `pip install`: fix the code or narrow the range,
# then `make lock UPGRADE=1`.
DRIFT_VENV := .venv-drift
DRIFT_CHECKOV_VENV := .venv-drift-checkov
drift: $(UV) $(RV_LOWEST_VENV)/.installed ## run the suite with the newest versions setup.cfg admits instead of the lock's (in .venv-drift)
	test -x $(DRIFT_VENV)/bin/python || $(PYTHON) -m venv $(DRIFT_VENV)
	$(UV) pip install --quiet --upgrade --python $(DRIFT_VENV)/bin/python -e '.[test]' $(EDITABLE)
	test -x $(DRIFT_CHECKOV_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(DRIFT_CHECKOV_VENV)
	$(UV) pip install --quiet --upgrade --python $(DRIFT_CHECKOV_VENV)/bin/python \
		-r $(LOCKS)/checkov.in
	test -x $(DRIFT_VENV)/bin/cfn-guard || $(DRIFT_VENV)/bin/python scripts/install-cfn-guard $(DRIFT_VENV)/bin
	scripts/install-test-tools
	@sed -n 's/^\([a-z0-9._-]*==[^ ;]*\).*/\1/p' $(LOCKS)/test.txt $(LOCKS)/checkov.txt > $(DRIFT_VENV)/locked.txt
	@{ $(UV) pip freeze --quiet --python $(DRIFT_VENV)/bin/python --exclude-editable; \
		$(UV) pip freeze --quiet --python $(DRIFT_CHECKOV_VENV)/bin/python; } | sort -u | \
		awk -F'==' 'NR == FNR { locked[$$1] = locked[$$1] " " $$2 " "; next } $$1 ~ /^(pip|setuptools)$$/ { next } \
			!($$1 in locked) { print "  " $$1 " " $$2 " (not in the lock)"; n++; next } \
			!index(locked[$$1], " " $$2 " ") { print "  " $$1 " " $$2 " (lock:" locked[$$1] ")"; n++ } \
			END { print n ? "(the versions above are newer than the lock)" : \
				"every package is at its locked version: nothing has drifted" }' \
			$(DRIFT_VENV)/locked.txt - >&2
	RV_BATCH_CFN_CHECKOV=$(CURDIR)/$(DRIFT_CHECKOV_VENV)/bin/checkov PYTHONDONTWRITEBYTECODE= \
		$(DRIFT_VENV)/bin/python -m pytest

# --- dist: a wheel and an sdist, to install the batch_retry runner where Raster Vision runs -----
# Built by uv without build isolation, with the locked setuptools and wheel of .venv
# (requirements/build.txt), as the editable install is: nothing unpinned, no download. DIST=dir
# writes them elsewhere. The previous build's files are removed first, so that
# dist/rv_batch_cfn-*.whl names one wheel.
DIST ?= dist
.PHONY: dist
dist: $(BIN)/.installed ## build the wheel and sdist into dist/ (DIST=dir): pip install dist/rv_batch_cfn-*.whl beside Raster Vision
	rm -f '$(DIST)'/rv_batch_cfn-*.whl '$(DIST)'/rv_batch_cfn-*.tar.gz '$(DIST)'/rv-batch-cfn-*.tar.gz
	$(UV) build --quiet --python $(BIN)/python --no-build-isolation --out-dir '$(DIST)' .

# AWS's cfn-guard, for the test of the Guard rules registry's rules (tests/template/guard_rules).
$(BIN)/cfn-guard: | $(BIN)/.installed
	$(BIN)/python scripts/install-cfn-guard $(BIN)

fuzz: $(BIN)/.test-installed ## the property tests (Hypothesis) with ten times their examples, from a random seed
	HYPOTHESIS_PROFILE=fuzz PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest \
		$$(find tests -name test_properties.py) --hypothesis-show-statistics

bench: $(BIN)/.installed ## time `rv-batch-cfn template` (cold and warm) against the cfn-lint CLI on its output, and each step
	$(BIN)/python scripts/bench.py

clean: ## remove the virtual environment and caches (not the committed templates)
	rm -rf $(VENV) $(RV_LOWEST_VENV) $(CHECKOV_VENV) $(DRIFT_VENV) $(DRIFT_CHECKOV_VENV) .pytest_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

hooks: ## check commit subjects as you commit (git's core.hooksPath is .githooks: at most 72 characters)
	git config core.hooksPath .githooks

# --- publish-container: push the local Raster Vision images to the stack's ECR repositories -----
# STACK=name reads the repositories and the tag from the stack; settings (settings.mk, the
# environment, the command line: make publish-container ECR_IMAGE_TAG=v1) override it. DRY_RUN=1
# runs every check and prints the docker commands instead of running them.
.PHONY: publish-container publish-container-cpu publish-container-gpu
PUBLISH_ARGS = --cpu-image "$(RASTER_VISION_CPU_IMAGE)" --gpu-image "$(RASTER_VISION_GPU_IMAGE)" \
	--cpu-repository "$(ECR_CPU_IMAGE)" --gpu-repository "$(ECR_GPU_IMAGE)" \
	--tag "$(ECR_IMAGE_TAG)" --profile "$(AWS_PROFILE)" --region "$(AWS_REGION)" \
	$(if $(STACK),--stack '$(STACK)') $(if $(DRY_RUN),--dry-run)

# Both kinds in one run: one login, and a repository shared by both kinds is pushed once.
publish-container: $(BIN)/.installed ## push the images to STACK=name's ECR repositories (both kinds; DRY_RUN=1 checks and prints only)
	$(CLI) publish-container --kind all $(PUBLISH_ARGS)

publish-container-cpu: $(BIN)/.installed ## tag and push RASTER_VISION_CPU_IMAGE to ECR_CPU_IMAGE:ECR_IMAGE_TAG
	$(CLI) publish-container --kind cpu $(PUBLISH_ARGS)

publish-container-gpu: $(BIN)/.installed ## tag and push RASTER_VISION_GPU_IMAGE to ECR_GPU_IMAGE:ECR_IMAGE_TAG
	$(CLI) publish-container --kind gpu $(PUBLISH_ARGS)

# --- Checks against the account: subnets before deploying, the stack after ---------------------
.PHONY: doctor choose-subnets smoke-test request-quota

doctor: $(BIN)/.installed ## check a deployed stack for what leaves jobs stuck: make doctor STACK=name [JOB_DEF_STACK=name]
	@test -n "$(STACK)" || { echo "usage: make doctor STACK=<stack name> [JOB_DEF_STACK=<name>]" >&2; exit 2; }
	$(CLI) doctor --stack $(STACK) $(if $(JOB_DEF_STACK),--job-def-stack '$(JOB_DEF_STACK)') $(AWS_ARGS)

request-quota: $(BIN)/.installed ## request the EC2 vCPU quota increases STACK=name needs: make request-quota STACK=name [KIND=gpu|cpu|all] [VCPUS=n] [DRY_RUN=1 only shows] [YES=1 does not ask]
	@test -n "$(STACK)" || { echo "usage: make request-quota STACK=<stack name> [KIND=gpu|cpu|all] [VCPUS=<n>] [DRY_RUN=1] [YES=1]" >&2; exit 2; }
	$(CLI) request-quota --stack '$(STACK)' $(if $(KIND),--kind $(KIND)) $(if $(VCPUS),--vcpus $(VCPUS)) $(if $(DRY_RUN),--dry-run) $(if $(YES),--yes) $(AWS_ARGS)

smoke-test: $(BIN)/.installed ## run one tiny job per queue of a deployed stack and print its log: make smoke-test STACK=name [KIND=gpu|cpu|all] [TIMEOUT=minutes] [INTERVAL=seconds]
	@test -n "$(STACK)" || { echo "usage: make smoke-test STACK=<stack name> [KIND=gpu|cpu|all] [TIMEOUT=<minutes>]" >&2; exit 2; }
	$(CLI) smoke-test --stack '$(STACK)' $(if $(KIND),--kind $(KIND)) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(INTERVAL),--interval $(INTERVAL)) $(AWS_ARGS)

choose-subnets: $(BIN)/.installed ## subnets whose zones offer the types: make choose-subnets VPC=vpc-... [TYPES=g5.2xlarge,m6i.xlarge]
	@test -n "$(VPC)" || { echo "usage: make choose-subnets VPC=<vpc id> [TYPES=t1,t2]" >&2; exit 2; }
	$(CLI) choose-subnets --vpc $(VPC) $(if $(TYPES),--instance-types $(TYPES)) $(AWS_ARGS)

# --- The optional GPU AMI (Packer) -----------------------------------------------------------
PACKER_TEMPLATE := packer/template-gpu.json
# Settings from settings.mk; options left out when a setting is absent keep the CLI's defaults.
AMI_OPTIONS = --base-ami='$(AWS_BATCH_BASE_AMI)' --region='$(AWS_REGION)' \
	--profile='$(AWS_PROFILE)' \
	$(if $(AWS_ROOT_BLOCK_DEVICE_SIZE),--root-volume-size='$(AWS_ROOT_BLOCK_DEVICE_SIZE)') \
	$(if $(AMI_BUILD_INSTANCE_TYPE),--instance-type='$(AMI_BUILD_INSTANCE_TYPE)') \
	$(if $(filter undefined,$(origin PREPULL_IMAGES)),,--prepull-images='$(PREPULL_IMAGES)') \
	$(if $(AMI_BUILD_SUBNET_ID),--subnet-id='$(AMI_BUILD_SUBNET_ID)') \
	$(if $(AMI_BUILD_INSTANCE_PROFILE),--iam-instance-profile='$(AMI_BUILD_INSTANCE_PROFILE)') \
	$(if $(AMI_BUILD_PUBLIC_IP),--associate-public-ip-address='$(AMI_BUILD_PUBLIC_IP)') \
	$(if $(AMI_BUILD_SSH_CIDR),--ssh-source-cidr='$(AMI_BUILD_SSH_CIDR)')
.PHONY: packer-template create-ami validate-ami find-base-ami

$(PACKER_TEMPLATE): $(BIN)/.installed $(SOURCES)
	$(CLI) packer-template -o $@

# `make template` refreshes the Packer template too.
template: $(PACKER_TEMPLATE)

packer-template: $(PACKER_TEMPLATE) ## generate packer/template-gpu.json (also part of make template)

create-ami: $(PACKER_TEMPLATE) ## build the GPU AMI (settings.mk); id in packer/last-ami. SKIP_PROVISIONING=1: a permissions check whose image is not usable (not recorded)
	$(CLI) create-ami $(AMI_OPTIONS) $(if $(SKIP_PROVISIONING),--skip-provisioning)

validate-ami: $(PACKER_TEMPLATE) ## create-ami's checks and packer validate, without building
	$(CLI) validate-ami $(AMI_OPTIONS)

find-base-ami: $(BIN)/.installed ## print the newest Deep Learning Base OSS GPU AMI (WRITE=1: into settings.mk)
	$(CLI) find-base-ami --region='$(AWS_REGION)' --profile='$(AWS_PROFILE)' $(if $(WRITE),--write)

# --- The deployed stack: rv-config and deploy -------------------------------------------------
.PHONY: rv-config deploy
rv-config: $(BIN)/.installed ## print Raster Vision's [BATCH] section from STACK=name (WRITE=1 merges it into ~/.rastervision/default; FORMAT=batch|aws_batch|env; JOB_DEF_STACK=name)
	@test -n "$(STACK)" || { echo "usage: make rv-config STACK=<stack name> [WRITE=1] [FORMAT=batch|aws_batch|env] [JOB_DEF_STACK=<name>]" >&2; exit 2; }
	$(CLI) rv-config --stack '$(STACK)' $(AWS_ARGS) $(if $(FORMAT),--format $(FORMAT)) $(if $(WRITE),--write) $(if $(JOB_DEF_STACK),--job-def-stack '$(JOB_DEF_STACK)')

deploy: $(TEMPLATE) ## create or update STACK=name through a change set (PARAMS="Key=Value ...", GPU_AMI=ami-..., TAGS="k=v ...", S3_BUCKET=..., NO_EXECUTE=1 only creates it, YES=1 skips the question)
	@test -n "$(STACK)" || { echo "usage: make deploy STACK=<stack name> [PARAMS=\"VPC=vpc-... SubnetIds=subnet-a,subnet-b\"] [GPU_AMI=\$$(cat packer/last-ami)] [TAGS=\"team=geo\"] [S3_BUCKET=bucket] [NO_EXECUTE=1] [YES=1]" >&2; exit 2; }
	$(CLI) deploy --stack '$(STACK)' --template $(TEMPLATE) $(AWS_ARGS) $(foreach p,$(PARAMS),--param '$(p)') $(if $(GPU_AMI),--param 'GpuAMI=$(GPU_AMI)') $(if $(TAGS),--tags $(foreach t,$(TAGS),'$(t)')) $(if $(S3_BUCKET),--s3-bucket '$(S3_BUCKET)') $(if $(NO_EXECUTE),--no-execute-changeset) $(if $(YES),--yes)

# --- Teardown -----------------------------------------------------------------------------------
.PHONY: teardown
teardown: $(BIN)/.installed ## delete STACK=name (shows the plan and asks; YES=1 does not ask, DRY_RUN=1 only shows) and list what is left
	@test -n "$(STACK)" || { echo "usage: make teardown STACK=<stack name> [YES=1] [DRY_RUN=1]" >&2; exit 2; }
	$(CLI) teardown --stack '$(STACK)' $(AWS_ARGS) $(if $(DRY_RUN),--dry-run) $(if $(YES),--yes)

.PHONY: resume
resume: $(BIN)/.installed ## enable STACK=name's queues and compute environments again after the budget's hard stop (DRY_RUN=1 only shows)
	@test -n "$(STACK)" || { echo "usage: make resume STACK=<stack name> [DRY_RUN=1]" >&2; exit 2; }
	$(CLI) resume --stack '$(STACK)' $(AWS_ARGS) $(if $(DRY_RUN),--dry-run)

# --- Watching jobs: jobs and logs -------------------------------------------------------------
.PHONY: jobs rerun costs logs permissions
jobs: $(BIN)/.installed ## the jobs of STACK=name by pipeline run, with estimated costs (SINCE=1d, RUN=name, STATUS=FAILED,RUNNABLE, WATCH=1, JSON=1, COST_ONLY=1 one line per run, NO_COST=1)
	@test -n "$(STACK)" || { echo "usage: make jobs STACK=<stack name> [SINCE=1d] [RUN=<pipeline run>] [STATUS=<state,...>] [WATCH=1] [JSON=1] [COST_ONLY=1] [NO_COST=1]" >&2; exit 2; }
	$(CLI) jobs --stack '$(STACK)' $(AWS_ARGS) $(if $(SINCE),--since '$(SINCE)') $(if $(RUN),--run '$(RUN)') $(if $(STATUS),--status '$(STATUS)') $(if $(WATCH),--watch) $(if $(JSON),--json) $(if $(COST_ONLY),--cost-only) $(if $(NO_COST),--no-cost)

rerun: $(BIN)/.installed ## submit again the commands of RUN=name on STACK=name that did not succeed (ON_DEMAND=1 GPU jobs on the on-demand queue, DRY_RUN=1 only shows, SINCE=7d, JSON=1)
	@test -n "$(STACK)" -a -n "$(RUN)" || { echo "usage: make rerun STACK=<stack name> RUN=<pipeline run> [ON_DEMAND=1] [DRY_RUN=1] [SINCE=7d] [JSON=1]" >&2; exit 2; }
	$(CLI) rerun '$(RUN)' --stack '$(STACK)' $(AWS_ARGS) $(if $(ON_DEMAND),--on-demand) $(if $(DRY_RUN),--dry-run) $(if $(SINCE),--since '$(SINCE)') $(if $(JSON),--json)

costs: $(BIN)/.installed ## STACK=name's cost per day from Cost Explorer (its tags must be active), else the jobs' estimate (SINCE=7d, JSON=1)
	@test -n "$(STACK)" || { echo "usage: make costs STACK=<stack name> [SINCE=7d] [JSON=1]" >&2; exit 2; }
	$(CLI) costs --stack '$(STACK)' $(AWS_ARGS) $(if $(SINCE),--since '$(SINCE)') $(if $(JSON),--json)

logs: $(BIN)/.installed ## the output of JOB=id (INDEX=i for an array child, ATTEMPT=n, FOLLOW=1)
	@test -n "$(JOB)" || { echo "usage: make logs JOB=<job id> [INDEX=<array child>] [ATTEMPT=<n>] [FOLLOW=1]" >&2; exit 2; }
	$(CLI) logs '$(JOB)' $(AWS_ARGS) $(if $(INDEX),--index '$(INDEX)') $(if $(ATTEMPT),--attempt '$(ATTEMPT)') $(if $(FOLLOW),--follow)

permissions: $(BIN)/.installed ## the IAM policy a person needs: make permissions [FOR=deploy|operate] [JSON=1 prints the policy document]
	$(CLI) permissions $(if $(FOR),--for '$(FOR)') $(if $(JSON),--output json)

# --- Per-project job definitions --------------------------------------------------------------
JOB_DEF_TEMPLATE := cloudformation/job-definitions.yml

# `make template` refreshes the job-definitions template too.
template: $(JOB_DEF_TEMPLATE)

.PHONY: job-def-template
$(JOB_DEF_TEMPLATE): $(BIN)/.installed $(SOURCES)
	$(CLI) job-def-template -o $@

job-def-template: $(JOB_DEF_TEMPLATE) ## generate and lint cloudformation/job-definitions.yml (per-project job definitions on a shared stack)

# --- The console parameters page (docs/), generated from the template ---------------------------
PARAMETERS_PAGE := docs/console-parameters.md

# `make template` refreshes the page too.
template: $(PARAMETERS_PAGE)

.PHONY: parameters-page
$(PARAMETERS_PAGE): $(BIN)/.installed $(SOURCES)
	$(CLI) parameters-page -o $@

parameters-page: $(PARAMETERS_PAGE) ## generate docs/console-parameters.md, every console parameter (also part of make template)
