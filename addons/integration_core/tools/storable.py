"""What PostgreSQL can store: values read from bodies that valid JSON carries
but no column takes (NUL characters, lone surrogates, huge or infinite
numbers), found with their path or made storable."""

import hashlib
import math


def format_path(path):
    """``$.line_items[0].sku`` for a path of keys and indexes."""
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


# JSON carries integers exactly up to 2**53 (IEEE doubles): a larger one is
# no identifier or quantity any sender means, and PostgreSQL cannot hold it.
LARGEST_EXACT_INTEGER = 2**53


def _text_problem(text):
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an invalid Unicode escape (a lone surrogate)"
    return None


def unstorable_values(data, path=()):
    """``"<path>: <problem>"`` for every value that valid JSON can carry but
    no database or computation can take: NUL characters and lone surrogates
    in strings (keys included), integers beyond 2**53, infinite or NaN
    numbers (``1e999`` and ``NaN``, which Python's parser accepts)."""
    problems = []
    if isinstance(data, dict):
        for key, value in data.items():
            problem = _text_problem(key)
            if problem:
                problems.append(f"{format_path(path)}: a key {problem}")
                continue
            problems += unstorable_values(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            problems += unstorable_values(value, (*path, index))
    elif isinstance(data, str):
        problem = _text_problem(data)
        if problem:
            problems.append(f"{format_path(path)}: {problem}")
    elif isinstance(data, bool):
        pass
    elif isinstance(data, int):
        if abs(data) > LARGEST_EXACT_INTEGER:
            problems.append(
                f"{format_path(path)}: the number {str(data)[:12]}... "
                f"({len(str(abs(data)))} digits) is too large"
            )
    elif isinstance(data, float) and not math.isfinite(data):
        problems.append(f"{format_path(path)}: {data} is not a number")
    return problems


def storable_text(value, limit):
    """``value`` as text a column stores (NUL removed, invalid Unicode
    replaced), at most ``limit`` characters; None stays None."""
    if value is None or value is False:
        return None
    text = str(value).replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:limit] or None


def storable_key(key, limit=255):
    """An idempotency key as stored: itself when it is storable text within
    ``limit``, else a digest of it (two different keys stay different)."""
    key = "" if key is None else str(key)
    if key and len(key) <= limit and not _text_problem(key):
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest}"
