"""What the exception desk shows people: ages in words, summaries as HTML,
schema violations and unreadable bodies in a clerk's words (the technical
text stays on the item's *Technical detail* tab). Pure functions, tested
without the ORM."""

import json
from html import escape

from .schema import _validator, format_path
from .storable import unstorable_values

TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "yes or no",
    "object": "a group of values",
    "array": "a list",
    "null": "empty",
}


def human_age(seconds):
    """``"just now"``, ``"6 min"``, ``"3 h"``, ``"2 d"``."""
    seconds = max(0, int(seconds or 0))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def humanize(name):
    return str(name).replace("_", " ").strip()


def _walk(schema, path):
    """The nouns (titles, else property names) of the levels met along a
    JSON Schema path: the root's title first."""
    nouns = [schema.get("title") if isinstance(schema, dict) else None]
    node, parts, index = schema, list(path), 0
    while index < len(parts) and isinstance(node, dict):
        part = parts[index]
        if part == "properties" and index + 1 < len(parts):
            name = parts[index + 1]
            node = node.get("properties", {}).get(name, {})
            nouns.append(node.get("title") or humanize(name))
            index += 2
        elif part == "items":
            node = node.get("items", {})
            nouns.append(node.get("title") or "item")
            index += 1
        else:
            step = node.get(part) if isinstance(part, str) else None
            if isinstance(step, list) and index + 1 < len(parts):
                step = step[parts[index + 1]]
                index += 1
            node = step if isinstance(step, dict) else {}
            index += 1
    return nouns


def _field_and_owner(root, error, root_noun):
    nouns = _walk(root, list(error.absolute_schema_path)[:-1])
    field = nouns[-1] if len(nouns) > 1 else None
    owner = (nouns[-2] if len(nouns) > 2 else None) or root_noun
    position = [p for p in error.absolute_path if isinstance(p, int)]
    if position and len(nouns) > 2:
        owner = f"{nouns[-2]} {position[-1] + 1}"
    return field, owner


def describe_violation(root, error, root_noun="message"):
    """One jsonschema error in a clerk's words."""
    validator = error.validator
    if validator == "required":
        owner_nouns = _walk(root, list(error.absolute_schema_path)[:-1])
        owner = owner_nouns[-1] if len(owner_nouns) > 1 else root_noun
        position = [p for p in error.absolute_path if isinstance(p, int)]
        if position:
            owner = f"{owner} {position[-1] + 1}"
        instance = error.instance if isinstance(error.instance, dict) else {}
        schema = error.schema if isinstance(error.schema, dict) else {}
        missing = [
            name
            for name in error.validator_value
            if name not in instance and repr(name) in error.message
        ] or list(error.validator_value)[:1]
        name = missing[0]
        label = schema.get("properties", {}).get(name, {}).get("title")
        return f"The {owner} has no {label or humanize(name)}."
    field, owner = _field_and_owner(root, error, root_noun)
    subject = f"The {field} of the {owner}" if field else f"The {owner}"
    value = error.instance
    if validator == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, list) else [expected]
        words = " or ".join(TYPE_WORDS.get(t, t) for t in expected if t != "null")
        return f"{subject} should be {words}, not {json.dumps(value)[:40]}."
    if validator == "minLength" and value == "":
        return f"{subject} is empty."
    if validator in ("pattern", "format"):
        return f"{subject} is not in the expected form ({json.dumps(value)[:40]})."
    if validator in ("minimum", "exclusiveMinimum"):
        return f"{subject} is too small ({value})."
    if validator in ("maximum", "exclusiveMaximum"):
        return f"{subject} is too large ({value})."
    if validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value if v is not None)
        return f"{subject} is {json.dumps(value)[:40]}, expected one of: {allowed}."
    if validator == "minItems":
        return f"{subject} is empty."
    return f"{subject} is not valid."


def explain_violations(schema_text, data):
    """``(clerk_lines, technical_lines)`` of ``data`` against the schema;
    values nothing can store (NUL characters, huge or infinite numbers)
    first, with or without a schema."""
    unstorable = unstorable_values(data)
    clerk = [
        "The message holds a value that cannot be stored "
        f"({problem.split(': ', 1)[0].lstrip('$.') or 'top level'})."
        for problem in unstorable[:1]
    ]
    if not schema_text:
        return clerk, unstorable
    validator = _validator(schema_text)
    root = validator.schema
    noun = root.get("title") or "message"
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    for error in errors:
        line = describe_violation(root, error, noun)
        if line not in clerk:
            clerk.append(line)
    technical = [f"{format_path(e.absolute_path)}: {e.message}" for e in errors]
    return clerk, unstorable + technical


def explain_json_error(exc, size):
    """Why a body is not JSON, in words (the decoder's text is technical)."""
    position = getattr(exc, "pos", None)
    if position is not None and size and position >= size - 1:
        return "The message is cut off: it ends before its data is complete."
    if not size:
        return "The message is empty: it carries no data."
    return "The message is not readable data (it is not valid JSON)."


def render_summary(summary):
    """HTML of a connector's summary dict (every value escaped)."""
    parts = []
    if summary.get("title"):
        parts.append(f"<h4 class='mb-2'>{escape(str(summary['title']))}</h4>")
    rows = [
        f"<tr><th class='pe-3 text-muted fw-normal'>{escape(str(label))}</th>"
        f"<td>{escape(str(value))}</td></tr>"
        for label, value in summary.get("fields") or []
        if value not in (None, "", False)
    ]
    if rows:
        parts.append(f"<table class='mb-2'>{''.join(rows)}</table>")
    lines = summary.get("lines") or {}
    if lines.get("rows"):
        marked = set(lines.get("marked") or [])
        head = "".join(f"<th>{escape(str(c))}</th>" for c in lines.get("columns") or [])
        body = []
        for index, row in enumerate(lines["rows"]):
            cells = "".join(f"<td>{escape(str(c))}</td>" for c in row)
            if index in marked:
                body.append(
                    f"<tr class='table-danger fw-bold' title='the problem'>{cells}"
                    "<td>&#9888; this line</td></tr>"
                )
            else:
                body.append(f"<tr>{cells}<td></td></tr>")
        parts.append(
            "<table class='table table-sm w-auto mb-2'>"
            f"<thead><tr>{head}<th></th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
        )
    if summary.get("note"):
        parts.append(f"<p class='mb-0'>{escape(str(summary['note']))}</p>")
    return "".join(parts)
