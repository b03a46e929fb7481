# The two commands of README.md's quick start.
PYTHON ?= python3

.PHONY: test run lint

test:  ## run every test in real Odoo 17 on PostgreSQL, plus the linters
	$(PYTHON) scripts/test.py $(ARGS)

run:  ## demo database + sandbox + Odoo with workers and the job runner on :8069
	$(PYTHON) scripts/run.py $(ARGS)

lint:
	$(PYTHON) -m ruff check . && $(PYTHON) -m ruff format --check . && \
	$(PYTHON) -m pylint --rcfile .pylintrc addons/*/
