"""Conformance of the parsers against third-party sample files.

The files live outside the repository (they are not ours and are never
copied in): ``$INTEGRATION_CONFORMANCE_DIR/bank`` or
``<repo root>/../shared/conformance/bank``. The test is skipped when the
folder is absent.

* camt.053 files with a golden output are compared with it: genkgo
  ``.expected.json`` (PHP DTO dumps) and OCA ``.pydata`` (Odoo statement
  line dicts), each through a small adapter below.
* Every other camt.053 file and every MT940 file must parse without error;
  the WoLpH MT940 ``.expected.yml`` files are compared for amounts, dates
  and the details they state.
* camt.052, camt.054 and OFX samples are out of scope (these parsers do not
  read them) and are deliberately ignored.
"""

import ast
import base64
import json
import os
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from ..parsers import camt053, mt940
from ..parsers.common import clean_text, parse_statement_file

REPO_ROOT = Path(__file__).resolve().parents[3]
CONFORMANCE_DIR = (
    Path(
        os.environ.get("INTEGRATION_CONFORMANCE_DIR")
        or REPO_ROOT.parent / "shared" / "conformance"
    )
    / "bank"
)
CAMT053_DIR = CONFORMANCE_DIR / "camt053"
MT940_DIR = CONFORMANCE_DIR / "mt940"

pytestmark = pytest.mark.skipif(
    not CONFORMANCE_DIR.is_dir(), reason=f"no conformance files in {CONFORMANCE_DIR}"
)


def _files(folder, pattern):
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.glob(pattern))


def _camt053_samples():
    return _files(CAMT053_DIR, "*.xml")


def _mt940_samples():
    return [
        name
        for name in _files(MT940_DIR, "*")
        if name != "SOURCE.txt" and not name.endswith(".expected.yml")
    ]


def _expected_json(xml_name):
    return CAMT053_DIR / xml_name.replace(".xml", ".expected.json")


def _expected_pydata(xml_name):
    # oca_test-camt053-txdtls.xml -> oca_golden-camt053-txdtls.pydata
    return CAMT053_DIR / xml_name.replace("oca_test-", "oca_golden-").replace(
        ".xml", ".pydata"
    )


def _parse_sample(folder, name):
    return parse_statement_file((folder / name).read_bytes(), name)


# -- genkgo adapter ---------------------------------------------------------

# genkgo names balances by meaning; map our bank codes onto them.
_GENKGO_BALANCE_TYPES = {
    "OPBD": "opening",
    "PRCD": "opening",
    "OPAV": "opening_available",
    "CLBD": "closing",
    "CLAV": "closing_available",
    "FWAV": "forward_available",
    "INFO": "information",
    "ITAV": "interim_available",
    "ITBD": "interim",
    "XPCD": "expected_credit",
}
# moneyphp stores amounts in minor units; most currencies have two.
_MINOR_UNIT_EXPONENTS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "JOD": 3, "TND": 3}


def _genkgo_money(money):
    currency = money["getCurrency"]["getCode"]
    exponent = _MINOR_UNIT_EXPONENTS.get(currency, 2)
    return Decimal(money["getAmount"]).scaleb(-exponent), currency


def _in_minor_units(amount, currency):
    exponent = _MINOR_UNIT_EXPONENTS.get(currency, 2)
    return amount.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)


def _genkgo_date(value):
    # genkgo converts date-times to UTC; every sample stays on the same day.
    return date.fromisoformat(value["0"][:10]) if value else None


def _genkgo_records(expected):
    """Return the statement DTOs the dump spells out (others are back-refs)."""
    records = [r for r in expected["getRecords"] if isinstance(r, dict)]
    records += [
        entry["getRecord"]
        for entry in expected["getEntries"]
        if isinstance(entry.get("getRecord"), dict)
    ]
    unique = {}
    for record in records:
        unique.setdefault(record["getId"], record)
    return list(unique.values())


def _check_genkgo_record(record, statement):
    account = record["getAccount"]["getIdentification"]
    assert account in (statement.account_iban, statement.account_number)
    expected_balances = []
    for balance in record["getBalances"]:
        amount, currency = _genkgo_money(balance["getAmount"])
        expected_balances.append(
            (balance["getType"], amount, currency, _genkgo_date(balance["getDate"]))
        )
    our_balances = [
        (
            _GENKGO_BALANCE_TYPES[balance.code],
            _in_minor_units(balance.amount, balance.currency),
            balance.currency,
            balance.date,
        )
        for balance in statement.balances
    ]
    assert our_balances == expected_balances
    entry_count = len({line.raw["entry_index"] for line in statement.lines})
    assert entry_count == len(record["getEntries"])


def _genkgo_counterparty(detail, credit):
    wanted = "Debtor" if credit else "Creditor"
    for party in detail.get("getRelatedParties") or []:
        if not isinstance(party, dict):
            continue
        party_type = party["getRelatedPartyType"]
        if party_type["__CLASS__"].rsplit("\\", 1)[-1] == wanted:
            return party_type.get("getName"), (party.get("getAccount") or {}).get(
                "getIdentification"
            )
    return None, None


def _check_genkgo_entry(entry, statement):
    lines = [
        line for line in statement.lines if line.raw["entry_index"] == entry["getIndex"]
    ]
    assert lines, f"entry {entry['getIndex']} missing"
    amount, currency = _genkgo_money(entry["getAmount"])
    total = sum(line.amount for line in lines)
    assert _in_minor_units(total, currency) == amount
    assert {line.currency for line in lines} == {currency}
    assert {line.date for line in lines} == {_genkgo_date(entry["getBookingDate"])}
    assert {line.value_date for line in lines} == {_genkgo_date(entry["getValueDate"])}
    assert {line.is_reversal for line in lines} == {entry["getReversalIndicator"]}
    if entry["getAccountServicerReference"]:
        assert lines[0].bank_reference == entry["getAccountServicerReference"]

    detail = entry.get("getTransactionDetail")
    if not isinstance(detail, dict):
        return
    line = lines[0]
    end_to_end_id = (detail.get("getReference") or {}).get("getEndToEndId")
    if end_to_end_id and end_to_end_id != "NOTPROVIDED":
        assert line.end_to_end_id == end_to_end_id
    remittance = detail.get("getRemittanceInformation") or {}
    creditor_reference = remittance.get("getCreditorReferenceInformation") or {}
    if creditor_reference.get("getRef"):
        assert line.structured_ref == creditor_reference["getRef"]
        assert line.payment_ref == creditor_reference["getRef"]
    elif remittance.get("getMessage"):
        assert line.payment_ref == clean_text(remittance["getMessage"])
    name, account = _genkgo_counterparty(
        detail, entry["getCreditDebitIndicator"] == "CRDT"
    )
    if name:
        assert line.partner_name == clean_text(name)
    if account:
        assert line.partner_iban == account


def _check_against_genkgo(statements, expected):
    assert len(statements) == len(expected["getRecords"])
    by_id = {statement.statement_id: statement for statement in statements}
    assert len(by_id) == len(statements), "statement ids must be unique to match"
    for record in _genkgo_records(expected):
        _check_genkgo_record(record, by_id[record["getId"]])
    for entry in expected["getEntries"]:
        _check_genkgo_entry(entry, by_id[entry["getRecord"]["getId"]])


# -- OCA adapter ------------------------------------------------------------


def _money(value):
    return Decimal(str(value))


def _check_against_oca(statements, golden):
    currency, account, expected_statements = golden
    # OCA drops statements without transactions.
    statements = [statement for statement in statements if statement.lines]
    assert len(statements) == len(expected_statements)
    for expected, statement in zip(expected_statements, statements):
        assert statement.currency == currency
        assert statement.account_iban == account
        assert statement.statement_id == expected["name"]
        assert statement.date == date.fromisoformat(expected["date"])
        assert statement.opening_balance == _money(expected["balance_start"])
        assert statement.closing_balance == _money(expected["balance_end_real"])
        assert len(statement.lines) == len(expected["transactions"])
        for transaction, line in zip(expected["transactions"], statement.lines):
            assert line.amount == _money(transaction["amount"])
            assert line.date == date.fromisoformat(transaction["date"])
            assert line.partner_name == transaction["partner_name"]
            assert line.partner_iban == transaction["account_number"]
            assert line.transaction_code == transaction["transaction_type"]
            # OCA's "ref": the structured reference, else the end-to-end id.
            assert (line.structured_ref or line.end_to_end_id) == transaction["ref"]
            # OCA's payment_ref is the additional (entry or transaction) info,
            # which our lines keep in raw; ours is the remittance information.
            assert line.raw["additional_info"] == transaction["payment_ref"]


# -- WoLpH MT940 adapter ----------------------------------------------------

_YAML_TRANSACTION_MARK = "\n- !!python/object:mt940.models.Transaction\n"
_YAML_AMOUNT_RE = re.compile(
    r"^    amount: .*?\n\s+amount: .*?Decimal \['([^']+)'\]", re.M
)
_YAML_DATE_RE = (
    r"^    {key}: !!python/object/apply:mt940.models.Date\n    - !!binary \|\n\s+(\S+)"
)
# A plain scalar may continue on more deeply indented lines.
_YAML_SCALAR_RE = r"^    {key}: (.+(?:\n      +\S.*)*)"


def _yaml_date(block, key):
    match = re.search(_YAML_DATE_RE.format(key=key), block, re.M)
    if not match:
        return None
    raw = base64.b64decode(match.group(1))
    return date(raw[0] * 256 + raw[1], raw[2], raw[3])


def _yaml_scalar(block, key):
    match = re.search(_YAML_SCALAR_RE.format(key=key), block, re.M)
    if not match or match.group(1) == "null":
        return None
    value = match.group(1)
    if value[:1] in "'\"":
        # Quoted values use YAML escapes and folding; they are not compared.
        return None
    return " ".join(part.strip() for part in value.splitlines())


def _wolph_transactions(text):
    """Extract (amount, value date, entry date, fields) per transaction."""
    blocks = text.split(_YAML_TRANSACTION_MARK)[1:]
    transactions = []
    for block in blocks:
        block = block.split("\n  transactions:", 1)[0]
        fields = {
            key: _yaml_scalar(block, key)
            for key in (
                "end_to_end_reference",
                "applicant_iban",
                "applicant_name",
                "purpose",
            )
        }
        transactions.append(
            (
                Decimal(_YAML_AMOUNT_RE.search(block).group(1)),
                _yaml_date(block, "date"),
                _yaml_date(block, "entry_date"),
                fields,
            )
        )
    return transactions


def _check_against_wolph(statements, expected_text):
    lines = [line for statement in statements for line in statement.lines]
    expected = _wolph_transactions(expected_text)
    assert len(lines) == len(expected)
    for line, (amount, value_date, entry_date, fields) in zip(lines, expected):
        assert line.amount == amount
        assert line.value_date == value_date
        assert line.date == (entry_date or value_date)
        if fields["end_to_end_reference"]:
            assert line.end_to_end_id == clean_text(fields["end_to_end_reference"])
        if fields["applicant_iban"]:
            assert line.partner_iban == fields["applicant_iban"]
        if fields["applicant_name"]:
            assert line.partner_name == clean_text(fields["applicant_name"])
        if fields["purpose"]:
            assert line.payment_ref == clean_text(fields["purpose"])


# -- tests ------------------------------------------------------------------


def test_conformance_folder_has_samples():
    assert _camt053_samples(), f"no camt.053 samples in {CAMT053_DIR}"
    assert _mt940_samples(), f"no MT940 samples in {MT940_DIR}"


@pytest.mark.parametrize("name", _camt053_samples())
def test_camt053_sample(name):
    data = (CAMT053_DIR / name).read_bytes()
    assert camt053.looks_like_camt053(data)
    statements = _parse_sample(CAMT053_DIR, name)
    assert statements
    if _expected_json(name).is_file():
        expected = json.loads(_expected_json(name).read_text(encoding="utf-8"))
        _check_against_genkgo(statements, expected)
    elif _expected_pydata(name).is_file():
        golden = ast.literal_eval(_expected_pydata(name).read_text(encoding="utf-8"))
        _check_against_oca(statements, golden)


@pytest.mark.parametrize("name", _mt940_samples())
def test_mt940_sample(name):
    data = (MT940_DIR / name).read_bytes()
    assert mt940.looks_like_mt940(data)
    statements = _parse_sample(MT940_DIR, name)
    assert any(statement.lines for statement in statements)
    expected = MT940_DIR / (name.rsplit(".", 1)[0] + ".expected.yml")
    if expected.is_file():
        _check_against_wolph(statements, expected.read_text(encoding="utf-8"))
