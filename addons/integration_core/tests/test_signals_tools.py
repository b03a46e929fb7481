"""Business signal declarations, checked and made ready for the browser
(pure functions, no ORM)."""

import datetime

import pytest

from ..tools.signals import check_signal, client_domain, company_scoped


def test_a_signal_gets_its_defaults():
    signal = check_signal(
        {"key": "late", "label": "late orders", "model": "sale.order", "domain": []}
    )
    assert signal == {
        "key": "late",
        "label": "late orders",
        "model": "sale.order",
        "domain": [],
        "help": "",
        "context": {},
        "views": {},
    }
    # the older form: a count of the connector's own, opening nothing
    assert check_signal({"label": "pings", "count": "2"})["count"] == 2
    assert check_signal({"label": "pings", "count": 2})["model"] is False


@pytest.mark.parametrize(
    "wrong",
    [
        "not a dict",
        {"label": "neither model nor count"},
        {"key": "k", "model": "res.partner", "domain": []},  # no label
        {"label": "x", "model": "res.partner"},  # no key
        {"key": "k", "label": "x", "model": "res.partner", "domain": "[]"},
        {"key": "k", "label": "x", "model": "res.partner", "count": 3},
        {"key": "k", "label": "x", "model": "res.partner", "views": {"pivot": "v"}},
        {"label": "x", "count": 1, "colour": "red"},
    ],
)
def test_a_wrong_signal_says_what_is_wrong(wrong):
    with pytest.raises(ValueError):
        check_signal(wrong)


def test_client_domain_carries_dates_as_odoo_reads_them():
    domain = [
        "|",
        ("date", "<=", datetime.datetime(2026, 12, 1, 9, 30, 15, 123456)),
        ("invoice_date_due", "<", datetime.date(2026, 11, 30)),
        ("state", "in", ("a", "b")),
        ("id", "!=", False),
    ]
    assert client_domain(domain) == [
        "|",
        ["date", "<=", "2026-12-01 09:30:15"],
        ["invoice_date_due", "<", "2026-11-30"],
        ["state", "in", ["a", "b"]],
        ["id", "!=", False],
    ]


def test_company_scoped():
    assert company_scoped([("a", "=", 1)], 3, True) == [
        ("company_id", "=", 3),
        ("a", "=", 1),
    ]
    assert company_scoped([("a", "=", 1)], 3, False) == [("a", "=", 1)]
