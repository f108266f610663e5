# ari-agent: every target sets up what it needs (idempotent, cached under ~/.cache/ari-agent).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help setup up down demo test test-unit lint bench soak clean-cache rasa-eval lock fuzz cluster-up cluster-down cluster-test

help:
	@echo "make demo        set up, start the stack, place one booking call, print its transcript, stop"
	@echo "make test        set up, start what the tests need, run the whole suite, stop"
	@echo "make up / down   start / stop the local stack in the background (prints URLs and ports)"
	@echo "make bench       benchmarks; writes bench/results/latest.json and README's performance table"
	@echo "make cluster-up / cluster-down   Kamailio in front of two Asterisk nodes, two agents each (README: more than one node)"
	@echo "make cluster-test 20 SIP calls through Kamailio, an agent killed, a node stopped; writes bench/results/cluster.json"
	@echo "make soak        20 SIP calls at once for 10 minutes through Asterisk (SIPp); writes bench/results/soak.json"
	@echo "make fuzz        the fuzz tests at nightly size (FUZZ_EXAMPLES per property, default 15000: >100,000 inputs)"
	@echo "make lock        re-resolve requirements/*.lock from setup.cfg and requirements/*.in (make lock UPGRADE=1: newest)"
	@echo "make clean-cache remove ~/.cache/ari-agent (everything is rebuilt on the next run)"

setup:
	@bash scripts/setup.sh

up: setup
	@bash scripts/stack-up.sh

down:
	@bash scripts/stack-down.sh

demo: setup
	@bash scripts/demo.sh

lint: setup
	@bash scripts/setup.sh venv
	$(VENV)/bin/ruff check ari_agent tests bench
	$(VENV)/bin/mypy

test-unit:
	@bash scripts/setup.sh venv
	$(VENV)/bin/pytest -q -m "not integration and not coqui"

test: setup
	@bash scripts/test.sh

fuzz:
	@bash scripts/setup.sh venv
	ARI_AGENT_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),15000) $(VENV)/bin/pytest -q -p no:cacheprovider tests/test_fuzz.py

bench: setup
	@bash scripts/bench.sh $(if $(PROFILE_HZ),--profile-hz $(PROFILE_HZ))

cluster-up: setup
	@bash scripts/cluster-up.sh

cluster-down:
	@bash scripts/cluster-down.sh

cluster-test: setup
	@bash scripts/cluster-test.sh

soak: setup
	@bash scripts/soak.sh $(SOAK_ARGS)

rasa-eval: setup
	@bash scripts/rasa-eval.sh

lock:
	@bash scripts/lock.sh $(if $(UPGRADE),--upgrade)

clean-cache:
	@bash -c 'source scripts/lib.sh; echo "removing $$CACHE_DIR"; rm -rf "$$CACHE_DIR"'
