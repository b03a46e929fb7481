# The two commands of README.md's quick start.
# PYTHON: the Python to use. When it cannot import Odoo 17, the commands set up
# .venv/ (Odoo 17 from ODOO_SRC, else its official source, and every
# requirement) and run in it; scripts/bootstrap.py says how.
PYTHON ?= python3

.PHONY: test run lint clean-venv

test:  ## run every test in real Odoo 17 on PostgreSQL, plus the linters
	$(PYTHON) scripts/test.py $(ARGS)

run:  ## demo database + sandbox + Odoo with workers and the job runner on :8069
	$(PYTHON) scripts/run.py $(ARGS)

lint:
	$(PYTHON) -m ruff check . && $(PYTHON) -m ruff format --check . && \
	$(PYTHON) -m pylint --rcfile .pylintrc addons/*/

clean-venv:  ## remove .venv/ (the next make run / make test sets it up again)
	$(PYTHON) scripts/bootstrap.py clean
