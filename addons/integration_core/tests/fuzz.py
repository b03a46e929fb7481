"""A seeded generator of hostile webhook bodies, for every connector's tests.

A connector gives valid bodies per topic; ``mutated_bodies`` changes them
field by field into what senders really get wrong (bad dates, NUL escapes,
40-digit numbers, wrong types, missing fields, non-UTF-8 bytes, truncation).
Plain Python: no Odoo here, so the generator itself is tested without it.
"""

import json
import logging
import random

# What the envelope and the mappings must survive, per JSON value.
BAD_VALUES = (
    "abc",
    "-1",
    "",
    " ",
    "2026-13-01T10:00:00Z",
    "2026-02-30T10:00:00+01:00",
    "0000-00-00T00:00:00Z",
    "\u0000",
    "x\u0000y",
    "\ud800",  # a lone surrogate, valid JSON escape, invalid Unicode
    10**40,
    -(10**40),
    "9" * 40,
    1e308,
    -1e308,
    1.5,
    -1,
    0,
    True,
    None,
    [],
    {},
    [None],
    {"nested": {"deep": [1, "two", None]}},
    "🦄" * 3,
    "a" * 5000,
    "__raw__1e999",  # infinity: Python's json reads it, PostgreSQL cannot
    "__raw__-1e999",
    "__raw__NaN",
)
RAW_MARK = "__raw__"

# Whole-body faults: raw bytes no JSON encoder would write.
RAW_FAULTS = ("non_utf8", "truncated", "nul_byte", "not_an_object", "empty")


def leaf_paths(value, prefix=()):
    """Every path into ``value`` (dict keys and list indexes), containers
    included, so that a whole object can be replaced by a wrong type."""
    paths = []
    if isinstance(value, dict):
        for key, item in value.items():
            paths.append((*prefix, key))
            paths += leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):  # a few items are enough
            paths.append((*prefix, index))
            paths += leaf_paths(item, (*prefix, index))
    return paths


def _replaced(body, path, new, delete=False):
    copy = json.loads(json.dumps(body))
    node = copy
    for step in path[:-1]:
        node = node[step]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return copy


def _encode(body):
    # ensure_ascii keeps lone surrogates and NUL as JSON escapes
    text = json.dumps(body)
    while f'"{RAW_MARK}' in text:  # a number no JSON encoder writes
        start = text.index(f'"{RAW_MARK}')
        end = text.index('"', start + 1)
        text = text[:start] + text[start + 1 + len(RAW_MARK) : end] + text[end + 1 :]
    return text.encode()


def _raw_fault(kind, body, rng):
    encoded = _encode(body)
    if kind == "non_utf8":
        cut = rng.randrange(1, len(encoded))
        # inside a string when possible: after the first quote past ``cut``
        quote = encoded.find(b'"', cut)
        at = quote + 1 if quote > 0 else cut
        return encoded[:at] + b"\xff\xfe\xc3(" + encoded[at:]
    if kind == "truncated":
        return encoded[: rng.randrange(1, len(encoded))]
    if kind == "nul_byte":
        cut = rng.randrange(1, len(encoded))
        return encoded[:cut] + b"\x00" + encoded[cut:]
    if kind == "not_an_object":
        return _encode(rng.choice([[body], "text", 42, None, []]))
    return b""


def mutated_bodies(samples, count, seed=0, stamp=None):
    """``count`` ``(topic, description, body bytes)``: each sample of
    ``samples`` (``[(topic, valid body dict)]``) changed at one path (or, one
    time in ten, as raw bytes), chosen by a seeded random generator so that
    a failure is reproducible from the seed and the description.

    ``stamp(topic, body, n)``, when given, returns the n-th body to mutate
    (say, with an id of its own, so that deduplication does not hide it)."""
    rng = random.Random(seed)
    stamp = stamp or (lambda topic, body, n: body)
    plan = []
    for topic, body in samples:
        for path in leaf_paths(body):
            plan.append((topic, body, path))
    rng.shuffle(plan)
    produced = []
    while len(produced) < count:
        for topic, body, path in plan:
            if len(produced) >= count:
                break
            body = stamp(topic, body, len(produced))
            if rng.random() < 0.1:
                kind = rng.choice(RAW_FAULTS)
                produced.append((topic, f"raw {kind}", _raw_fault(kind, body, rng)))
                continue
            where = "/".join(str(step) for step in path)
            if rng.random() < 0.1:
                produced.append(
                    (topic, f"{where} removed", _encode(_replaced(body, path, None, 1)))
                )
                continue
            bad = rng.choice(BAD_VALUES)
            produced.append(
                (
                    topic,
                    f"{where} = {json.dumps(bad)[:40]}",
                    _encode(_replaced(body, path, bad)),
                )
            )
    return produced


class LogWatch(logging.Handler):
    """Collects, while active, every log record that carries a traceback
    (``exc_info``, or ``Traceback`` in its text), from any thread: the HTTP
    server logs a 500 from its own thread."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.tracebacks = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info or "Traceback" in text:
            self.tracebacks.append(f"{record.name}: {text[:500]}")

    def __enter__(self):
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc):
        logging.getLogger().removeHandler(self)
