#!/bin/sh
# The odoo service's command (docker-compose.yml): create the database with
# every addon of the suite and their demo data, or, when it exists, update
# the installed addons and install the missing ones (its data stays); then
# serve with /etc/odoo/odoo.conf through the official image's entrypoint.
# Extra arguments go to Odoo.
set -eu
db="${ODOO_DATABASE:-integration_demo}"
python3 /mnt/integration-suite/scripts/run.py --init-only \
    --config "${ODOO_RC:-/etc/odoo/odoo.conf}" --db "$db"
exec /entrypoint.sh odoo --database "$db" --db-filter "^${db}\$" "$@"
