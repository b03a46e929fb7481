"""camt.053 parser tests on hand-written fixtures (no Odoo needed)."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ..parsers import camt053
from ..parsers.common import StatementParseError, statement_import_keys

FIXTURES = Path(__file__).parent / "fixtures"


def _parse(name):
    return camt053.parse((FIXTURES / name).read_bytes())


@pytest.mark.parametrize(
    ("fixture", "version"),
    [
        ("camt053_v02_credit_debit.xml", "02"),
        ("camt053_v03_reversal.xml", "03"),
        ("camt053_v04_batch.xml", "04"),
        ("camt053_v08_datetime.xml", "08"),
    ],
)
def test_each_namespace_version_parses(fixture, version):
    data = (FIXTURES / fixture).read_bytes()
    assert f"camt.053.001.{version}".encode() in data
    assert camt053.looks_like_camt053(data)
    statements = camt053.parse(data)
    assert len(statements) == 1
    assert statements[0].lines


def test_unlisted_namespace_version_is_matched_by_local_name():
    data = (FIXTURES / "camt053_v02_credit_debit.xml").read_bytes()
    data = data.replace(b"camt.053.001.02", b"camt.053.001.13")
    assert len(camt053.parse(data)[0].lines) == 2


def test_credit_and_debit_lines_with_signs_and_references():
    (statement,) = _parse("camt053_v02_credit_debit.xml")
    assert statement.statement_id == "V02-STMT-1"
    assert statement.account_iban == "DE89370400440532013000"
    assert statement.currency == "EUR"
    assert statement.opening_balance == Decimal("1000.00")
    assert statement.closing_balance == Decimal("1175.50")
    assert statement.date == date(2024, 2, 1)
    # The pending (PDNG) entry is not booked and must be skipped.
    credit, debit = statement.lines
    assert statement.opening_balance + credit.amount + debit.amount == (
        statement.closing_balance
    )

    assert credit.amount == Decimal("250.00")
    assert credit.date == date(2024, 2, 1)
    assert credit.value_date == date(2024, 2, 2)
    assert credit.structured_ref == "RF18539007547034"
    assert credit.payment_ref == "RF18539007547034"
    assert credit.bank_reference == "BANKREF-0001"
    assert credit.entry_reference == "NTRY-1"
    assert credit.end_to_end_id == "E2E-INV-1001"
    # On a credit the counterparty is the debtor, never our own creditor.
    assert credit.partner_name == "Acme GmbH"
    assert credit.partner_iban == "FR7630006000011234567890189"
    assert credit.partner_bic == "AGRIFRPP"
    assert credit.transaction_code == "PMNT-RCDT-ESCT"
    assert credit.is_reversal is False

    assert debit.amount == Decimal("-74.50")
    assert debit.payment_ref == "Invoice 42 thank you"
    assert debit.structured_ref is None
    assert debit.end_to_end_id is None  # NOTPROVIDED
    assert debit.partner_name == "Office Supplies Ltd"
    assert debit.partner_iban == "12345678"
    assert debit.transaction_code == "NTRF+116"


def test_reversal_flag_does_not_flip_the_sign():
    (statement,) = _parse("camt053_v03_reversal.xml")
    (line,) = statement.lines
    assert line.amount == Decimal("-50.00")
    assert line.is_reversal is True
    assert line.partner_name == "Returned Customer"
    assert line.partner_iban == "CH9300762011623852957"
    assert line.raw["return_reason"] == "AC04"
    # A DBIT balance is negative; the currency comes from the balances.
    assert statement.closing_balance == Decimal("-40.00")
    assert statement.currency == "CHF"
    assert statement.account_iban is None
    assert statement.account_number == "ACC-77"


def test_batch_is_split_per_transaction_detail():
    (statement,) = _parse("camt053_v04_batch.xml")
    batch = [line for line in statement.lines if line.raw["entry_index"] == 0]
    assert [line.amount for line in batch] == [
        Decimal("100.00"),
        Decimal("150.00"),
        Decimal("50.00"),
    ]
    assert [line.end_to_end_id for line in batch] == ["E2E-A", "E2E-B", "E2E-C"]
    assert [line.partner_name for line in batch] == [
        "Customer A",
        "Customer B",
        "Customer C",
    ]
    assert [line.payment_ref for line in batch] == [
        "Invoice A",
        "Invoice B",
        "Invoice C",
    ]
    assert {line.bank_reference for line in batch} == {"SHARED-TX-REF"}
    assert {line.raw["batch_payment_id"] for line in batch} == {"PMT-INF-9"}
    keys = statement_import_keys(statement)
    assert len(set(keys)) == len(keys)


def test_batch_without_amounts_stays_one_line():
    (statement,) = _parse("camt053_v04_batch.xml")
    (line,) = [line for line in statement.lines if line.raw["entry_index"] == 1]
    assert line.amount == Decimal("-80.00")
    assert line.raw["transaction_count"] == 2
    assert line.payment_ref == "Collective transfer, 2 payments"
    assert line.partner_name is None


def test_single_transaction_detail_uses_the_entry_amount():
    (statement,) = _parse("camt053_v04_batch.xml")
    (line,) = [line for line in statement.lines if line.raw["entry_index"] == 2]
    # The TxDtls amount is in USD; the booked amount is the EUR entry amount.
    assert line.amount == Decimal("100.00")
    assert line.currency == "EUR"
    assert line.partner_name == "US Customer"
    total = sum(line.amount for line in statement.lines)
    assert statement.opening_balance + total == statement.closing_balance


def test_datetime_dates_status_code_and_fallback_balances():
    (statement,) = _parse("camt053_v08_datetime.xml")
    (line,) = statement.lines  # the INFO entry is skipped
    # The date keeps the day as written, whatever the offset.
    assert line.date == date(2024, 3, 31)
    assert line.value_date == date(2024, 4, 1)
    assert line.partner_name == "Party Wrapped Ltd"
    assert line.partner_iban == "GB94BARC10201530093459"
    assert line.partner_bic == "BARCGB22"
    assert line.entry_reference == "V8-1"
    assert line.is_reversal is False
    assert statement.currency == "GBP"
    # No OPBD/CLBD: PRCD beats OPAV for the opening, CLAV closes.
    assert statement.opening_balance == Decimal("500.00")
    assert statement.closing_balance == Decimal("620.00")
    assert [balance.code for balance in statement.balances] == ["OPAV", "PRCD", "CLAV"]
    assert statement.balances[1].date == date(2024, 3, 30)


def test_several_statements_with_their_own_currency_and_exact_decimals():
    euro, yen = _parse("camt053_multi_currency.xml")
    assert euro.statement_id == "MULTI-EUR"
    assert euro.currency == "EUR"
    (interest,) = euro.lines
    assert interest.amount == Decimal("12.3456")
    assert str(interest.amount) == "12.3456"
    assert interest.payment_ref == "Interest"
    assert euro.closing_balance == Decimal("13.3456")

    assert yen.statement_id == "MULTI-JPY"
    assert yen.currency == "JPY"
    (rent,) = yen.lines
    assert rent.amount == Decimal("-15000")
    assert rent.currency == "JPY"
    assert yen.opening_balance + rent.amount == yen.closing_balance


@pytest.mark.parametrize(
    ("fixture", "expected_parts"),
    [
        ("camt053_malformed_truncated.xml", ["not well-formed", "line "]),
        (
            "camt053_malformed_missing_amount.xml",
            ["missing <Amt>", "/Document/BkToCstmrStmt/Stmt/Ntry[2]"],
        ),
        (
            "camt053_malformed_bad_indicator.xml",
            ["'DEBIT'", "/Document/BkToCstmrStmt/Stmt/Ntry[2]/CdtDbtInd, line 70"],
        ),
    ],
)
def test_malformed_file_raises_one_error_naming_the_place(fixture, expected_parts):
    with pytest.raises(StatementParseError) as caught:
        _parse(fixture)
    message = str(caught.value)
    assert message.startswith("camt.053: ")
    for part in expected_parts:
        assert part in message
    assert caught.value.location


def test_invalid_date_names_the_element():
    data = (FIXTURES / "camt053_v02_credit_debit.xml").read_bytes()
    data = data.replace(b"<BookgDt><Dt>2024-02-01", b"<BookgDt><Dt>2024-02-30", 1)
    with pytest.raises(StatementParseError, match=r"Ntry\[1\]/BookgDt/Dt"):
        camt053.parse(data)


def test_invalid_amount_is_refused():
    data = (FIXTURES / "camt053_v02_credit_debit.xml").read_bytes()
    data = data.replace(b">250.00<", b">250,00<")
    with pytest.raises(StatementParseError, match=r"invalid amount '250,00'"):
        camt053.parse(data)


def test_entity_declarations_are_refused_not_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY xxe SYSTEM '
        f'"file://{secret}">]>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        "<BkToCstmrStmt><Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>"
    ).encode()
    with pytest.raises(StatementParseError, match="DTD") as caught:
        camt053.parse(data)
    assert "TOP-SECRET" not in str(caught.value)


def test_other_iso_messages_are_not_camt053():
    data = (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02">'
        b"<BkToCstmrAcctRpt/></Document>"
    )
    assert not camt053.looks_like_camt053(data)
    with pytest.raises(StatementParseError, match="not a camt.053 document"):
        camt053.parse(data)


def test_document_without_statement_is_an_error():
    data = (
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        b"<BkToCstmrStmt><GrpHdr/></BkToCstmrStmt></Document>"
    )
    with pytest.raises(StatementParseError, match="no <Stmt>"):
        camt053.parse(data)
