"""Benchmark of connector_bank: matching N statement lines against N open invoices.

In real Odoo 17 on PostgreSQL, for N = 1,000 and 10,000 (``--sizes``): a
scratch company with the generic chart, N posted customer invoices and N
statement lines (60% structured reference + exact amount, 20% invoice number
in free text, 10% partial payments, 10% amount and payer name only), then the
connector's bulk matching as the import runs it: read lines, liquidity
amounts, counterparty partners and open invoices, score, store the ranked
candidates (``bank.line.matcher._match(lines, reconcile=False)``). Prints the
time of each part, lines per second and the 10k/1k ratio (goal: at most 15,
i.e. near-linear). Everything is rolled back at the end.

The data is made by the ORM once (one template invoice, one template line)
and cloned in SQL, so that setting up 2 x 10,000 documents takes seconds, not
the half hour the ORM would; what is timed is the connector's own code.

    python3 bench/bank_matching.py --odoo-config odoo.conf --database mydb
    python3 bench/bank_matching.py            # makes and drops a scratch database
"""

import argparse
import statistics
import sys
import time
import uuid

from common import ScratchOdoo, environment, open_registry, require_odoo17

GOAL_RATIO = 15.0


def columns(cr, table):
    cr.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = %s AND column_name != 'id' ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in cr.fetchall()]


def clone(cr, table, template_id, source, overrides, params):
    """INSERT one row per row of ``source`` (SQL with alias ``g``), copying
    the template row except the ``overrides`` (SQL expressions)."""
    names = columns(cr, table)
    select = [overrides.get(name, f't."{name}"') for name in names]
    cr.execute(
        f"""
        INSERT INTO {table} ({", ".join(f'"{n}"' for n in names)})
        SELECT {", ".join(select)}
          FROM {table} t, ({source}) g
         WHERE t.id = %(template)s
        """,  # noqa: S608 - table and column names are ours
        {**params, "template": template_id},
    )
    return cr.rowcount


def setup_company(env):
    from odoo import Command  # noqa: PLC0415

    eur = env.ref("base.EUR")
    eur.active = True
    company = env["res.company"].create(
        {"name": f"Bench bank {uuid.uuid4().hex[:6]}", "currency_id": eur.id}
    )
    env.user.company_ids |= company
    env["account.chart.template"].try_loading(
        "generic_coa", company=company, install_demo=False
    )
    company.currency_id = eur
    env = env(context=dict(env.context, allowed_company_ids=[company.id]))
    journal = env["account.journal"].search(
        [("company_id", "=", company.id), ("type", "=", "bank")], limit=1
    )
    backend = (
        env["integration.backend"]
        .sudo()
        .create(
            {"name": "Bench bank", "connector_type": "bank", "company_id": company.id}
        )
    )
    partner = env["res.partner"].create(
        {"name": "Template customer", "is_company": True}
    )
    invoice = env["account.move"].create(
        {
            "move_type": "out_invoice",
            "partner_id": partner.id,
            "invoice_date": "2024-02-01",
            "invoice_line_ids": [
                Command.create(
                    {"name": "x", "quantity": 1, "price_unit": 1.0, "tax_ids": []}
                )
            ],
        }
    )
    invoice.action_post()
    line = env["account.bank.statement.line"].create(
        {
            "journal_id": journal.id,
            "date": "2024-03-01",
            "amount": 1.0,
            "payment_ref": "template",
            "bank_backend_id": backend.id,
        }
    )
    return env, company, journal, invoice, line


def make_data(env, company, journal, template_invoice, template_line, size, tag):
    """``size`` open invoices and ``size`` statement lines, in SQL."""
    cr = env.cr
    env.flush_all()
    partners = env["res.partner"].create(
        [
            {"name": f"Customer {tag}-{index} Trading", "is_company": True}
            for index in range(max(size // 20, 1))
        ]
    )
    params = {"n": size, "partners": partners.ids, "tag": tag}
    amount = "(10 + ((g.i * 7919) %% 99991) / 10.0)"
    partner = "(%(partners)s::int[])[1 + g.i %% array_length(%(partners)s::int[], 1)]"
    invoice_name = "'BENCH/' || %(tag)s || '/' || lpad(g.i::text, 6, '0')"
    reference = "'RF' || %(tag)s || lpad(g.i::text, 8, '0')"
    clone(
        cr,
        "account_move",
        template_invoice.id,
        "SELECT generate_series(1, %(n)s) AS i",
        {
            "name": invoice_name,
            "payment_reference": reference,
            "partner_id": partner,
            "commercial_partner_id": partner,
            "amount_residual": amount,
            "amount_residual_signed": amount,
            "amount_total": amount,
            "amount_total_signed": amount,
            "amount_untaxed": amount,
            "amount_untaxed_signed": amount,
            "amount_total_in_currency_signed": amount,
            "invoice_date_due": "DATE '2024-02-01' + (g.i %% 60)",
            "ref": "NULL",
        },
        params,
    )
    # Statement lines: a move each (ref holds the index while we map them).
    clone(
        cr,
        "account_move",
        template_line.move_id.id,
        "SELECT generate_series(1, %(n)s) AS i",
        {
            "name": "'BNK/' || %(tag)s || '/' || lpad(g.i::text, 6, '0')",
            "ref": "'bench:' || g.i",
        },
        params,
    )
    cr.execute(
        "CREATE TEMP TABLE IF NOT EXISTS bench_map (i int, move_id int); "
        "TRUNCATE bench_map; "
        "INSERT INTO bench_map SELECT substr(ref, 7)::int, id FROM account_move "
        "WHERE ref LIKE 'bench:%%' AND journal_id = %s",
        [journal.id],
    )
    kind = "(g.i %% 10)"
    line_amount = (
        f"(CASE WHEN {kind} = 8 THEN round(({amount} / 2)::numeric, 2) "
        f"ELSE {amount} END)"
    )
    label = (
        f"(CASE WHEN {kind} < 6 THEN {reference} "
        f"WHEN {kind} < 8 THEN 'Payment ' || {invoice_name} || ' thank you' "
        f"WHEN {kind} = 8 THEN {reference} ELSE 'Transfer' END)"
    )
    source = "SELECT i, move_id FROM bench_map"
    clone(
        cr,
        "account_bank_statement_line",
        template_line.id,
        source,
        {
            "move_id": "g.move_id",
            "amount": line_amount,
            "payment_ref": label,
            "bank_structured_ref": f"(CASE WHEN {kind} IN (0,1,2,3,4,5,8) "
            f"THEN {reference} END)",
            "partner_name": f"(CASE WHEN {kind} = 9 THEN "
            f"'CUSTOMER ' || %(tag)s || '-' || "
            f"(g.i %% array_length(%(partners)s::int[], 1)) || ' TRADING' END)",
            "unique_import_id": "'bench:' || %(tag)s || ':' || g.i",
            "internal_index": "'20240301' || lpad(g.i::text, 12, '0')",
        },
        params,
    )
    for item in template_line.move_id.line_ids:
        sign = "1" if item.balance > 0 else "-1"
        clone(
            cr,
            "account_move_line",
            item.id,
            source,
            {
                "move_id": "g.move_id",
                "balance": f"{sign} * {line_amount}",
                "debit": f"(CASE WHEN {sign} > 0 THEN {line_amount} ELSE 0 END)",
                "credit": f"(CASE WHEN {sign} < 0 THEN {line_amount} ELSE 0 END)",
                "amount_currency": f"{sign} * {line_amount}",
                "amount_residual": f"{sign} * {line_amount}",
                "amount_residual_currency": f"{sign} * {line_amount}",
            },
            params,
        )
    cr.execute(
        "UPDATE account_move SET ref = NULL WHERE id IN (SELECT move_id FROM bench_map)"
    )
    cr.execute(
        "UPDATE account_move m SET statement_line_id = l.id "
        "FROM account_bank_statement_line l "
        "WHERE l.move_id = m.id AND m.id IN (SELECT move_id FROM bench_map)"
    )
    cr.execute(
        "UPDATE account_move_line i SET statement_line_id = l.id "
        "FROM account_bank_statement_line l "
        "WHERE l.move_id = i.move_id AND i.move_id IN (SELECT move_id FROM bench_map)"
    )
    # Fresh statistics, as autovacuum would have them on a live database:
    # the planner must know these tables hold thousands of rows now.
    cr.execute(
        "ANALYZE account_move, account_move_line, account_bank_statement_line, "
        "res_partner, bank_match_candidate"
    )
    env.invalidate_all()
    lines = env["account.bank.statement.line"].search(
        [("unique_import_id", "=like", f"bench:{tag}:%")]
    )
    assert len(lines) == size, (len(lines), size)
    return lines


def time_matching(env, lines, repeat):
    from odoo.addons.connector_bank.matching import scoring  # noqa: PLC0415

    Matcher = env["bank.line.matcher"]
    runs = []
    for _run in range(repeat):
        env.invalidate_all()
        started = time.perf_counter()
        line_data = Matcher._line_data(lines)
        invoice_data = Matcher._open_invoice_data(lines.company_id)
        read = time.perf_counter()
        results = {
            r["line_id"]: r for r in scoring.match_lines(line_data, invoice_data)
        }
        scored = time.perf_counter()
        Matcher._store(lines, results)
        env.flush_all()
        stored = time.perf_counter()
        runs.append(
            {
                "read": read - started,
                "score": scored - read,
                "store": stored - scored,
                "total": stored - started,
                "invoices": len(invoice_data),
                "states": [r["state"] for r in results.values()],
            }
        )
    return min(runs, key=lambda run: run["total"]), runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--odoo-config", help="Odoo configuration file")
    parser.add_argument("--database", help="a database with connector_bank")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    require_odoo17()
    scratch = None
    if args.odoo_config and args.database:
        registry = open_registry(args.odoo_config, args.database)
    else:
        scratch = ScratchOdoo(
            ["connector_bank"], workers=0, prefix="integration_bench_bank"
        )
        registry = scratch.registry
    figures = {}
    try:
        with registry.cursor() as cr:
            env = environment(cr, tracking_disable=True)
            print("scratch company, chart of accounts, templates ...", flush=True)
            env, company, journal, invoice, line = setup_company(env)
            for size in args.sizes:
                cr.execute("SAVEPOINT bench_size")
                started = time.perf_counter()
                lines = make_data(
                    env, company, journal, invoice, line, size, tag=str(size)
                )
                made = time.perf_counter() - started
                best, runs = time_matching(env, lines, args.repeat)
                figures[size] = best
                states = best["states"]
                all_runs = ", ".join(f"{run['total']:.2f}" for run in runs)
                print(
                    f"{size:>6} lines x {best['invoices']:>6} open invoices: "
                    f"match {best['total']:.2f}s (read {best['read']:.2f}s, score "
                    f"{best['score']:.2f}s, store {best['store']:.2f}s) = "
                    f"{size / best['total']:,.0f} lines/s; runs "
                    f"{all_runs}s; "
                    f"matched {states.count('matched')}, ambiguous "
                    f"{states.count('ambiguous')}, unmatched "
                    f"{states.count('unmatched')}; data made in {made:.1f}s",
                    flush=True,
                )
                cr.execute("ROLLBACK TO SAVEPOINT bench_size")
                env.invalidate_all()
            cr.rollback()
    finally:
        if scratch:
            scratch.drop()
        else:
            registry.delete(args.database)
    sizes = sorted(figures)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        ratio = figures[large]["total"] / figures[small]["total"]
        growth = large / small
        verdict = "OK" if ratio <= GOAL_RATIO * growth / 10 else "TOO SLOW"
        share = statistics.median(f["score"] / f["total"] for f in figures.values())
        print(
            f"ratio {large}/{small}: {ratio:.2f}x for {growth:.0f}x the data "
            f"(goal <= {GOAL_RATIO * growth / 10:.0f}x): {verdict}; "
            f"pure scoring is {share:.0%} of the time"
        )
        return 0 if verdict == "OK" else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
