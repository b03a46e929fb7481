"""Payments to open invoices: candidate search and scoring in plain Python.

No Odoo here. The Odoo side reads, in a few queries, every statement line to
match and every open invoice of the companies involved, turns them into dicts
and calls :func:`match_lines`. The invoices are indexed once (by normalised
reference, by partner, by open amount), so that each line is scored only
against the few invoices that share something with it: the time grows with
lines + invoices, not with their product.

A line dict has:

``id``, ``company_id``
``amount``            signed, in the journal currency (negative: money out)
``currency``          the journal currency (any hashable code)
``foreign_amount``    signed amount in the transaction currency, or None
``foreign_currency``  that currency, or None
``company_amount``    signed, in the company currency
``company_currency``
``structured_ref``    the creditor reference the payer gave, or None
``texts``             free texts: remittance information, end-to-end id...
``partner_ids``       partners the counterparty account belongs to
``partner_name``      the counterparty name the bank gave, or None

An invoice dict has:

``id``, ``company_id``, ``name``, ``payment_reference``, ``ref``
``partner_id``, ``partner_name`` (the commercial partner)
``move_type``         out_invoice, in_invoice, out_refund, in_refund
``currency``          the invoice currency
``residual``          open amount in the invoice currency (positive)
``company_residual``  open amount in the company currency (positive)
``date_due``          a date (or ISO string), or None

:func:`match_lines` returns one result per line: ``{"line_id", "state",
"invoice_ids", "candidates"}`` where ``state`` is ``matched`` (certain:
``invoice_ids`` are to be reconciled), ``ambiguous`` (a person confirms one of
the ranked ``candidates``) or ``unmatched`` (the best ``candidates`` are
given for the finance exception). Each candidate is ``{"invoice_id",
"score", "reasons"}`` with reasons written for a person.
"""

import re
import unicodedata
from collections import defaultdict

# Money comes in for customer invoices and vendor refunds, goes out for
# vendor bills and customer refunds.
INBOUND_TYPES = frozenset({"out_invoice", "in_refund"})
OUTBOUND_TYPES = frozenset({"in_invoice", "out_refund"})

DEFAULT_WEIGHTS = {
    "ref_structured": 55,
    "ref_text": 45,
    "amount_exact": 35,
    "amount_partial": 15,
    "amount_over": 5,
    "amount_converted": 20,
    "partner_account": 20,
    "partner_name": 10,
    "partner_name_partial": 5,
    "other_partner_account": -20,
    "group": 90,
}

DEFAULT_CONFIG = {
    # A candidate this good, clearly ahead of the next one, is certain.
    "auto_score": 70,
    "margin": 15,
    # Below this a candidate is only a hint in the finance exception.
    "propose_score": 40,
    "max_candidates": 5,
    # An amount shared by more open invoices than this says nothing alone.
    "amount_bucket_cap": 25,
    # Partners with more open invoices are looked at by amount only.
    "partner_bucket_cap": 40,
    # Relative difference accepted when comparing through exchange rates.
    "converted_tolerance": 0.02,
    "min_reference_length": 5,
    "max_phrase_tokens": 5,
}

# Legal forms and fillers that say nothing about who paid.
NAME_STOPWORDS = frozenset(
    """
    ab ag as bv co company corp corporation cv gmbh inc kg lda limited llc ltd
    mbh nv oy plc pty sa sarl sas sl spa sprl srl the und and et de van von
    """.split()
)

_NON_ALNUM = re.compile(r"[^0-9A-Z]")
_SEPARATORS = re.compile(r"[^0-9A-Z]+")
_WORDS = re.compile(r"[a-z0-9]+")


def normalize_reference(value):
    """Upper-case letters and digits only: 'RF18 5390-0754' -> 'RF1853900754'."""
    if not value:
        return ""
    return _NON_ALNUM.sub("", str(value).upper())


def text_reference_keys(text, min_length=5, max_tokens=5):
    """Normalised keys of every run of up to ``max_tokens`` words of ``text``.

    Words are runs of letters and digits. 'Payment INV 2024 0012, thanks' and
    'Payment INV/2024/0012' both yield 'INV20240012' among others, so an
    invoice number is found whether the payer wrote it with slashes, spaces
    or nothing between its parts.
    """
    if not text:
        return set()
    tokens = [t for t in _SEPARATORS.split(str(text).upper()) if t]
    keys = set()
    for start in range(len(tokens)):
        key = ""
        for token in tokens[start : start + max_tokens]:
            key += token
            if len(key) >= min_length:
                keys.add(key)
    return keys


def name_tokens(name):
    """Significant lower-case words of a name, accents removed."""
    if not name:
        return frozenset()
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore")
    words = _WORDS.findall(text.decode().lower())
    return frozenset(w for w in words if w not in NAME_STOPWORDS and len(w) > 1)


def name_similarity(first, second):
    """Shared words over the longer name's words: 1.0 is the same name."""
    if not first or not second:
        return 0.0
    return len(first & second) / max(len(first), len(second))


def amount_key(amount):
    """An amount as whole thousandths, so that floats compare exactly."""
    return round(abs(amount or 0.0) * 1000)


def _fmt(amount):
    return f"{abs(amount):,.2f}"


def _direction_of_type(move_type):
    if move_type in INBOUND_TYPES:
        return "in"
    if move_type in OUTBOUND_TYPES:
        return "out"
    return None


class InvoiceIndex:
    """Open invoices indexed for candidate search; built once per run."""

    def __init__(self, invoices, config=None):
        self.config = {**DEFAULT_CONFIG, **(config or {})}
        min_length = self.config["min_reference_length"]
        self.invoices = {}
        self.by_reference = defaultdict(set)
        self.by_amount = defaultdict(list)
        self.by_partner = defaultdict(list)
        self.by_partner_amount = defaultdict(list)
        self.partners_by_name = defaultdict(set)
        self.partner_names = {}
        for invoice in invoices:
            direction = _direction_of_type(invoice["move_type"])
            if direction is None:
                continue
            invoice = {**invoice, "direction": direction}
            invoice_id = invoice["id"]
            company = invoice["company_id"]
            partner = invoice["partner_id"]
            self.invoices[invoice_id] = invoice
            for field in ("payment_reference", "name", "ref"):
                key = normalize_reference(invoice.get(field))
                if len(key) >= min_length:
                    self.by_reference[(company, key)].add(invoice_id)
            amount = amount_key(invoice["residual"])
            currency = invoice["currency"]
            self.by_amount[(company, direction, currency, amount)].append(invoice_id)
            if partner:
                self.by_partner[(company, direction, partner)].append(invoice_id)
                self.by_partner_amount[
                    (company, direction, partner, currency, amount)
                ].append(invoice_id)
                if partner not in self.partner_names:
                    tokens = name_tokens(invoice.get("partner_name"))
                    self.partner_names[partner] = tokens
                    if tokens:
                        self.partners_by_name[(company, tokens)].add(partner)

    def __len__(self):
        return len(self.invoices)


def _line_amounts(line):
    """{currency: signed amount} of every currency the line's amount is known in."""
    amounts = {line["currency"]: line["amount"]}
    if line.get("foreign_currency") and line.get("foreign_amount"):
        amounts[line["foreign_currency"]] = line["foreign_amount"]
    return amounts


def _line_reference_keys(line, config):
    """[(key, kind)]: the structured reference first, then words of the texts."""
    min_length = config["min_reference_length"]
    keys = {}
    structured = normalize_reference(line.get("structured_ref"))
    if len(structured) >= min_length:
        keys[structured] = "structured"
    for text in [line.get("structured_ref")] + list(line.get("texts") or []):
        for key in text_reference_keys(text, min_length, config["max_phrase_tokens"]):
            keys.setdefault(key, "text")
    return keys


class _Candidate:
    __slots__ = ("invoice", "reference", "reference_kind", "score", "reasons")

    def __init__(self, invoice):
        self.invoice = invoice
        self.reference = None
        self.reference_kind = None
        self.score = 0
        self.reasons = []


def _collect_candidates(line, index, reference_keys, partner_ids, direction):
    config = index.config
    company = line["company_id"]
    found = {}

    def add(invoice_id):
        candidate = found.get(invoice_id)
        if candidate is None:
            invoice = index.invoices[invoice_id]
            if invoice["direction"] != direction:
                return None
            candidate = found[invoice_id] = _Candidate(invoice)
        return candidate

    for key, kind in reference_keys.items():
        for invoice_id in index.by_reference.get((company, key), ()):
            candidate = add(invoice_id)
            if candidate is not None and candidate.reference_kind != "structured":
                candidate.reference = key
                candidate.reference_kind = kind
    amounts = _line_amounts(line)
    for partner in partner_ids:
        for currency, amount in amounts.items():
            for invoice_id in index.by_partner_amount.get(
                (company, direction, partner, currency, amount_key(amount)), ()
            ):
                add(invoice_id)
        bucket = index.by_partner.get((company, direction, partner), ())
        if len(bucket) <= config["partner_bucket_cap"]:
            for invoice_id in bucket:
                add(invoice_id)
    for currency, amount in amounts.items():
        bucket = index.by_amount.get((company, direction, currency, amount_key(amount)))
        if bucket and len(bucket) <= config["amount_bucket_cap"]:
            for invoice_id in bucket:
                add(invoice_id)
    return list(found.values())


def _score_amount(candidate, line, amounts, weights, config):
    invoice = candidate.invoice
    residual = invoice["residual"]
    currency = invoice["currency"]
    if currency in amounts:
        paid = amount_key(amounts[currency])
        open_amount = amount_key(residual)
        if paid == open_amount:
            candidate.score += weights["amount_exact"]
            candidate.reasons.append(f"amount {_fmt(residual)} equals the open amount")
        elif paid < open_amount:
            candidate.score += weights["amount_partial"]
            candidate.reasons.append(
                f"partial payment: {_fmt(amounts[currency])} of {_fmt(residual)} open"
            )
        else:
            candidate.score += weights["amount_over"]
            candidate.reasons.append(
                f"pays {_fmt(amounts[currency])}, more than the {_fmt(residual)} open"
            )
        return
    # Another currency than the line's: compare through the company currency.
    paid = abs(line.get("company_amount") or 0.0)
    open_company = invoice.get("company_residual") or 0.0
    if paid and open_company:
        gap = abs(paid - open_company) / open_company
        if gap <= config["converted_tolerance"]:
            candidate.score += weights["amount_converted"]
            candidate.reasons.append(
                f"amount close to the open {_fmt(residual)} {currency} "
                f"after currency conversion"
            )
        elif paid < open_company:
            candidate.score += weights["amount_partial"] // 2
            candidate.reasons.append(
                f"possibly a partial payment of the {_fmt(residual)} {currency} open"
            )


def _score(candidate, line, amounts, partner_ids, line_name, index, weights):
    invoice = candidate.invoice
    if candidate.reference_kind == "structured":
        candidate.score += weights["ref_structured"]
        candidate.reasons.append(
            f"structured reference {line.get('structured_ref')} is the invoice's"
        )
    elif candidate.reference_kind == "text":
        candidate.score += weights["ref_text"]
        candidate.reasons.append(
            f"the payment text names {invoice.get('name') or candidate.reference}"
        )
    _score_amount(candidate, line, amounts, weights, index.config)
    partner = invoice["partner_id"]
    if partner and partner in partner_ids:
        candidate.score += weights["partner_account"]
        candidate.reasons.append(
            f"counterparty account belongs to {invoice.get('partner_name')}"
        )
    elif partner_ids:
        candidate.score += weights["other_partner_account"]
        candidate.reasons.append("paid from another partner's account")
    similarity = name_similarity(line_name, index.partner_names.get(partner))
    if similarity >= 0.99:
        candidate.score += weights["partner_name"]
        candidate.reasons.append(f"payer name '{line.get('partner_name')}' matches")
    elif similarity >= 0.5:
        candidate.score += weights["partner_name_partial"]
        candidate.reasons.append(
            f"payer name '{line.get('partner_name')}' is similar to "
            f"{invoice.get('partner_name')}"
        )


def _sort_key(candidate):
    due = candidate.invoice.get("date_due")
    return (-candidate.score, due is None, str(due or ""), candidate.invoice["id"])


def _group_match(candidates, amounts):
    """Several invoices named in the payment text that it pays together."""
    referenced = [c for c in candidates if c.reference_kind]
    if len(referenced) < 2:
        return None
    partners = {c.invoice["partner_id"] for c in referenced}
    currencies = {c.invoice["currency"] for c in referenced}
    if len(partners) != 1 or len(currencies) != 1:
        return None
    currency = currencies.pop()
    if currency not in amounts:
        return None
    total = sum(amount_key(c.invoice["residual"]) for c in referenced)
    if total != amount_key(amounts[currency]):
        return None
    return sorted(referenced, key=_sort_key)


def _as_result(candidate):
    return {
        "invoice_id": candidate.invoice["id"],
        "score": max(min(candidate.score, 100), 0),
        "reasons": candidate.reasons,
    }


def match_line(line, index, weights=None):
    """Match one line against an :class:`InvoiceIndex`."""
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    config = index.config
    result = {
        "line_id": line["id"],
        "state": "unmatched",
        "invoice_ids": [],
        "candidates": [],
    }
    if not line.get("amount"):
        return result
    direction = "in" if line["amount"] > 0 else "out"
    line_name = name_tokens(line.get("partner_name"))
    partner_ids = set(line.get("partner_ids") or ())
    name_partners = index.partners_by_name.get((line["company_id"], line_name), set())
    candidates = _collect_candidates(
        line,
        index,
        _line_reference_keys(line, config),
        partner_ids | name_partners,
        direction,
    )
    amounts = _line_amounts(line)
    for candidate in candidates:
        _score(candidate, line, amounts, partner_ids, line_name, index, weights)
    candidates.sort(key=_sort_key)
    group = _group_match(candidates, amounts)
    if group:
        for candidate in group:
            candidate.score = max(candidate.score, weights["group"])
            candidate.reasons = [
                reason
                for reason in candidate.reasons
                if not reason.startswith(("pays ", "partial payment", "amount "))
            ] + [
                f"the payment pays the {len(group)} invoices its text names, "
                f"{_fmt(amounts[group[0].invoice['currency']])} in all"
            ]
        result.update(
            state="matched",
            invoice_ids=[c.invoice["id"] for c in group],
            candidates=[_as_result(c) for c in group],
        )
        return result
    best = candidates[0] if candidates else None
    runner_up = candidates[1] if len(candidates) > 1 else None
    if (
        best is not None
        and best.score >= config["auto_score"]
        and best.reference_kind
        and (runner_up is None or best.score - runner_up.score >= config["margin"])
    ):
        result.update(
            state="matched",
            invoice_ids=[best.invoice["id"]],
            candidates=[_as_result(best)],
        )
        return result
    if best is not None and best.score >= config["propose_score"]:
        result["state"] = "ambiguous"
        kept = [c for c in candidates if c.score >= config["propose_score"]]
    else:
        kept = [c for c in candidates if c.score > 0]
    result["candidates"] = [_as_result(c) for c in kept[: config["max_candidates"]]]
    return result


def match_lines(lines, invoices, config=None, weights=None):
    """Match every line against every open invoice; one result per line.

    ``invoices`` may also be a prebuilt :class:`InvoiceIndex`.
    """
    index = (
        invoices
        if isinstance(invoices, InvoiceIndex)
        else InvoiceIndex(invoices, config)
    )
    return [match_line(line, index, weights) for line in lines]
