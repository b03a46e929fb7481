"""Tests for format sniffing, import keys and helpers in parsers.common."""

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ..parsers.common import (
    Statement,
    StatementLine,
    StatementParseError,
    file_hash,
    is_valid_iban,
    line_import_key,
    looks_like_iban,
    parse_statement_file,
    sniff_format,
    statement_import_keys,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _line(**values):
    defaults = {"date": date(2024, 1, 2), "amount": Decimal("10.00")}
    defaults.update(values)
    return StatementLine(**defaults)


@pytest.mark.parametrize(
    ("fixture", "file_format", "statement_count"),
    [
        ("camt053_v02_credit_debit.xml", "camt053", 1),
        ("camt053_multi_currency.xml", "camt053", 2),
        ("mt940_ing_swift.940", "mt940", 2),
        ("mt940_freetext.sta", "mt940", 1),
    ],
)
def test_parse_statement_file_sniffs_the_format(fixture, file_format, statement_count):
    data = (FIXTURES / fixture).read_bytes()
    assert sniff_format(data) == file_format
    assert len(parse_statement_file(data, fixture)) == statement_count


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "unrecognised"),
        (b"just some text\n", "unrecognised"),
        (b"%PDF-1.4 binary", "unrecognised"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02">'
            b"<BkToCstmrAcctRpt/></Document>",
            "camt.052",
        ),
        (b"OFXHEADER:100\nDATA:OFXSGML\n<OFX>", "OFX"),
    ],
)
def test_unknown_formats_raise(data, message):
    with pytest.raises(StatementParseError, match=message) as caught:
        parse_statement_file(data, "upload.bin")
    assert "upload.bin" in str(caught.value)


def test_parse_statement_file_requires_bytes():
    with pytest.raises(TypeError):
        parse_statement_file(":20:X\n")


def test_file_hash_is_sha256_hex():
    assert file_hash(b"abc") == hashlib.sha256(b"abc").hexdigest()


def test_iban_helpers():
    assert is_valid_iban("DE89 3704 0044 0532 0130 00")
    assert not is_valid_iban("DE89370400440532013001")
    assert looks_like_iban("NL77INGB0574908765")
    assert not looks_like_iban("NL77INGB0574908765EUR")
    assert not looks_like_iban("P001234567")


def test_import_key_prefers_bank_reference_then_end_to_end_id_then_hash():
    with_reference = _line(bank_reference="BANK-1", end_to_end_id="E2E-1")
    with_e2e = _line(bank_reference="NONREF", end_to_end_id="E2E-2")
    not_provided = _line(end_to_end_id="NOTPROVIDED", payment_ref="rent")
    statement = Statement(
        account_iban="NL91ABNA0417164300",
        lines=[with_reference, with_e2e, not_provided],
    )
    assert line_import_key(statement, with_reference) == "NL91ABNA0417164300:ref:BANK-1"
    assert line_import_key(statement, with_e2e) == "NL91ABNA0417164300:e2e:E2E-2"
    key = line_import_key(statement, not_provided)
    assert key.startswith("NL91ABNA0417164300:hash:")
    assert len(key.rsplit(":", 1)[1]) == 64


def test_hash_key_does_not_depend_on_position_or_amount_format():
    first = _line(payment_ref="a", amount=Decimal("10.5"))
    second = _line(payment_ref="b")
    forward = Statement(account_number="123", lines=[first, second])
    backward = Statement(account_number="123", lines=[second, first])
    assert line_import_key(forward, first) == line_import_key(backward, first)
    same_amount = Statement(
        account_number="123", lines=[_line(payment_ref="a", amount=Decimal("10.50"))]
    )
    assert statement_import_keys(same_amount)[0] == line_import_key(forward, first)


def test_keys_stay_unique_for_shared_references_and_identical_lines():
    shared = [_line(bank_reference="SAME", payment_ref=ref) for ref in ("x", "y")]
    twins = [_line(payment_ref="twin"), _line(payment_ref="twin")]
    statement = Statement(account_iban="NL91ABNA0417164300", lines=shared + twins)
    keys = statement_import_keys(statement)
    assert len(set(keys)) == 4
    assert keys[0].startswith("NL91ABNA0417164300:ref:SAME:")
    assert keys[3] == keys[2] + ":2"
    assert [line_import_key(statement, line) for line in statement.lines] == keys


def test_import_key_rejects_foreign_line():
    with pytest.raises(ValueError):
        line_import_key(Statement(), _line())
