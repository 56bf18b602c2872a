# todo-chatbot-cloud: every target is `todo-cloud <command>` (`todo-cloud --help` is the map), except bootstrap
# and lock, which run before the venv exists. `make help` lists them. Versions of tools and charts: versions.toml.

SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV ?= local
PYTEST_ARGS ?=
VENV := .venv
CLI := $(VENV)/bin/todo-cloud
BOOTSTRAP := PYTHONPATH=scripts python3 -m todo_cloud.bootstrap --quiet

.PHONY: help test up down bootstrap deps prereqs generate check-generated render lint validate policy report \
        check-nodes test-charts test-runtime pin-images tools-go deploy smoke publish sim-build sim-up sim-down tf-validate bench lock clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

test: bootstrap deps prereqs ## bootstrap, charts and prerequisites (built when missing, else it fails), then the whole suite [PYTEST_ARGS=...]
	$(CLI) test -- $(PYTEST_ARGS)

up: bootstrap ## build the app images and deploy the local environment to kind (needs Docker; kind is built with Go)
	@$(CLI) up

down: bootstrap ## delete the local kind cluster
	@$(CLI) down

bootstrap: ## venv, pinned helm/kubectl in .tools/bin, checkov venv (idempotent)
	@$(BOOTSTRAP)

deps: bootstrap ## umbrella chart dependencies from the chart mirror or upstream; fails naming a chart it cannot get
	@$(CLI) deps

prereqs: bootstrap ## build what the suite needs and this machine can build (Go tools, simulated cluster, OpenTofu, Kafka jars)
	@$(CLI) prereqs

generate: bootstrap ## regenerate the generated files (Chart.lock, dashboards, rules, schemas, docs tables)
	@$(CLI) generate

check-generated: bootstrap ## fail when a generated file drifts from its generator
	@$(CLI) generate --check

render: bootstrap ## render one environment, one file per object: make render ENV=production [OUT=dir]
	@$(CLI) render --env $(ENV) --out $(or $(OUT),out/$(ENV))

lint: bootstrap ## helm lint --strict every chart x environment, yamllint, ruff, actionlint
	@$(CLI) lint

validate: bootstrap ## schema-validate every rendered object of every environment
	@$(CLI) validate

policy: bootstrap ## checkov and project policies over manifests, Terraform and workflows
	@$(CLI) policy

pin-images: bootstrap deps ## pin the upstream images by digest in values/ENV.yaml (needs registry access): make pin-images ENV=production [ARGS=--check]
	@$(CLI) images pin --env $(ENV) $(ARGS)

report: bootstrap ## image inventory, capacity and cost: make report ENV=production
	@$(CLI) report --env $(ENV)

check-nodes: bootstrap ## compare config/prices.yaml's node allocatable and DOKS pods with the cluster: make check-nodes ENV=production [ARGS=--write]
	@$(CLI) nodes --env $(ENV) $(ARGS)

test-charts: bootstrap deps ## the chart tests only (render, schema, policy)
	$(CLI) test --suite charts -- $(PYTEST_ARGS)

test-runtime: bootstrap deps prereqs ## the runtime suite only: real Kafka, daprd, PostgreSQL, Prometheus, Jaeger and the workloads on loopback
	$(CLI) test --suite runtime -- $(PYTEST_ARGS)

deploy: bootstrap deps ## deploy with health check and rollback: make deploy ENV=staging [ARGS=--dry-run]
	@$(CLI) deploy --env $(ENV) $(ARGS)

smoke: bootstrap ## smoke tests against the running environment: make smoke ENV=local
	@$(CLI) smoke --env $(ENV)

publish: bootstrap deps ## package the umbrella and push it to the OCI registry [ARGS=--registry oci://...]
	@$(CLI) publish $(ARGS)

tools-go: bootstrap ## build every Go-built tool of versions.toml [go_tools] into the user cache
	@$(CLI) tools-go

sim-build: bootstrap ## build the simulated cluster's binaries from the Go module proxy (cached outside the repo)
	@$(CLI) sim build

sim-up: bootstrap ## start the simulated cluster (etcd, apiserver, scheduler, controller-manager, kwok): make sim-up ENV=production
	@$(CLI) sim up --env $(ENV)

sim-down: bootstrap ## stop the simulated cluster
	@$(CLI) sim down

tf-validate: bootstrap ## terraform init -backend=false && validate for staging and production
	@$(CLI) terraform validate

bench: bootstrap deps prereqs ## wall times against targets: bootstrap when done, render per env, the gates, the suites [ARGS=--make-test both]
	@$(CLI) bench $(ARGS)

lock: ## re-freeze requirements.lock and tools/checkov.lock from the top-level pins
	@PYTHONPATH=scripts python3 -m todo_cloud.lock

clean: ## remove the venv, tools, caches and rendered output
	rm -rf $(VENV) .tools .cache out charts/*/charts
