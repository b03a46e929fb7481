"""Format-independent bank statement model, format sniffing and import keys.

Everything here is plain Python (no Odoo): the parsers turn a file into
``Statement`` objects and the Odoo side maps them onto statement records.
"""

import datetime
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

# References that banks put in a reference field when they have none; they
# must never be used as an identifier.
PLACEHOLDER_REFERENCES = frozenset({"NONREF", "NOTPROVIDED", "NOT PROVIDED"})

_IBAN_RE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")


class StatementParseError(Exception):
    """A statement file could not be parsed.

    ``location`` names the place: an XML path (camt.053) or a line number and
    tag (MT940). Parsers raise exactly one such error for a malformed file and
    never return a partial result.
    """

    def __init__(self, message, location=None, file_format=None):
        self.message = message
        self.location = location
        self.file_format = file_format
        text = message
        if location:
            text = f"{text} (at {location})"
        if file_format:
            text = f"{file_format}: {text}"
        super().__init__(text)


@dataclass
class Balance:
    """One balance of a statement, signed (negative when overdrawn)."""

    code: str
    amount: Decimal
    currency: str | None = None
    date: datetime.date | None = None


@dataclass
class StatementLine:
    """One booked transaction.

    ``amount`` is signed: negative for debits. ``partner_iban`` holds the
    counterparty account: the IBAN, or the bank's other account id when the
    file gives no IBAN.
    """

    date: datetime.date
    amount: Decimal
    currency: str | None = None
    value_date: datetime.date | None = None
    payment_ref: str | None = None
    structured_ref: str | None = None
    bank_reference: str | None = None
    entry_reference: str | None = None
    end_to_end_id: str | None = None
    partner_name: str | None = None
    partner_iban: str | None = None
    partner_bic: str | None = None
    transaction_code: str | None = None
    is_reversal: bool = False
    raw: dict = field(default_factory=dict)


@dataclass
class Statement:
    """One account statement with its booked lines.

    ``date`` is the booking date of the last line, else the closing balance
    date. ``balances`` keeps every balance the file states, by bank code.
    """

    statement_id: str | None = None
    account_iban: str | None = None
    account_number: str | None = None
    currency: str | None = None
    date: datetime.date | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    lines: list[StatementLine] = field(default_factory=list)
    balances: list[Balance] = field(default_factory=list)


def file_hash(data: bytes) -> str:
    """Return the sha256 hex digest of a file's bytes."""
    return hashlib.sha256(data).hexdigest()


# IBAN lengths by country (SWIFT IBAN registry); unknown countries fall
# back to the generic 15..34 range.
_IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SC": 31,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
}


def looks_like_iban(value) -> bool:
    """Return True when ``value`` has the shape and length of an IBAN.

    The checksum is not verified: banks' own test files use made-up IBANs,
    and the shape is enough to tell an IBAN from a domestic account number.
    """
    if not value:
        return False
    candidate = value.replace(" ", "").upper()
    if not _IBAN_RE.match(candidate):
        return False
    expected = _IBAN_LENGTHS.get(candidate[:2])
    if expected is None:
        return 15 <= len(candidate) <= 34
    return len(candidate) == expected


def is_valid_iban(value) -> bool:
    """Return True when ``value`` is an IBAN with a correct mod-97 checksum."""
    if not value:
        return False
    candidate = value.replace(" ", "").upper()
    if not _IBAN_RE.match(candidate):
        return False
    rearranged = candidate[4:] + candidate[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(digits) % 97 == 1


def clean_text(value):
    """Collapse whitespace runs; return None for empty text."""
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None


def clean_reference(value):
    """Strip a reference; return None for empty ones and bank placeholders."""
    text = clean_text(value)
    if not text or text.upper() in PLACEHOLDER_REFERENCES:
        return None
    return text


def _format_amount(amount: Decimal) -> str:
    # "10.50" and "10.5" are the same amount and must hash alike.
    return format(amount.normalize(), "f")


def _content_hash(statement: Statement, line: StatementLine) -> str:
    account = statement.account_iban or statement.account_number or ""
    parts = [
        line.date.isoformat() if line.date else "",
        _format_amount(line.amount),
        account,
        line.payment_ref or "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def statement_import_keys(statement: Statement) -> list[str]:
    """Return ``line_import_key`` for every line of a statement, in line order.

    Computes all keys in one pass; use it instead of calling
    ``line_import_key`` per line on large statements.
    """
    account = statement.account_iban or statement.account_number or ""
    candidates = []
    for line in statement.lines:
        bank_reference = clean_reference(line.bank_reference)
        end_to_end_id = clean_reference(line.end_to_end_id)
        if bank_reference:
            candidates.append(f"ref:{bank_reference}")
        elif end_to_end_id:
            candidates.append(f"e2e:{end_to_end_id}")
        else:
            candidates.append(None)
    reference_counts = Counter(key for key in candidates if key)
    keys = []
    occurrences = Counter()
    for line, candidate in zip(statement.lines, candidates):
        if candidate and reference_counts[candidate] == 1:
            key = candidate
        else:
            # No reference, or one shared by several lines (a batch whose
            # transactions carry the same AcctSvcrRef): add the content hash.
            content = _content_hash(statement, line)
            key = f"{candidate}:{content}" if candidate else f"hash:{content}"
        occurrences[key] += 1
        if occurrences[key] > 1:
            # Lines equal in every hashed field are interchangeable, so
            # numbering them keeps keys unique without depending on position.
            key = f"{key}:{occurrences[key]}"
        keys.append(f"{account}:{key}" if account else key)
    return keys


def line_import_key(statement: Statement, line: StatementLine) -> str:
    """Return a stable id for ``line``, unique within ``statement``.

    Fallback order:

    1. the bank reference (camt AcctSvcrRef, MT940 ``//`` reference);
    2. the end-to-end id, ignoring "NOTPROVIDED";
    3. a sha256 of (booking date, amount, account, payment ref), which does
       not depend on the line's position in the file.

    Placeholders such as "NONREF" count as absent. When the chosen reference
    is shared by several lines of the statement the content hash is appended,
    and lines identical in every hashed field get an occurrence number. The
    key is prefixed with the statement's account (IBAN or number).
    """
    for index, candidate in enumerate(statement.lines):
        if candidate is line:
            return statement_import_keys(statement)[index]
    raise ValueError("line does not belong to the statement")


def sniff_format(data: bytes) -> str | None:
    """Return "camt053", "mt940" or None for an unrecognised file."""
    # Imported here because both parser modules import this one.
    from . import camt053, mt940

    if camt053.looks_like_camt053(data):
        return "camt053"
    if mt940.looks_like_mt940(data):
        return "mt940"
    return None


def _describe_unsupported(data: bytes) -> str:
    head = data[:4096]
    if b"camt.052" in head or b"BkToCstmrAcctRpt" in head:
        return "camt.052 account reports are not supported"
    if b"camt.054" in head or b"BkToCstmrDbtCdtNtfctn" in head:
        return "camt.054 notifications are not supported"
    if b"OFXHEADER" in head or b"<OFX>" in head.upper():
        return "OFX files are not supported"
    return "unrecognised bank statement format (expected camt.053 or MT940)"


def parse_statement_file(data: bytes, filename=None) -> list[Statement]:
    """Sniff the format of ``data`` and parse it into statements.

    Raises StatementParseError for unknown formats and malformed files.
    """
    from . import camt053, mt940

    if not isinstance(data, bytes | bytearray):
        raise TypeError("parse_statement_file expects bytes")
    data = bytes(data)
    file_format = sniff_format(data)
    if file_format == "camt053":
        return camt053.parse(data)
    if file_format == "mt940":
        return mt940.parse(data)
    location = f"file {filename!r}" if filename else None
    raise StatementParseError(_describe_unsupported(data), location)
