"""JSON Schema validation of message payloads, every violation with its path."""

import functools
import json

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .storable import format_path, unstorable_values


class SchemaDefinitionError(ValueError):
    """The message type's own schema is not a valid JSON Schema."""


@functools.lru_cache(maxsize=256)
def _validator(schema_text):
    try:
        schema = json.loads(schema_text)
        Draft202012Validator.check_schema(schema)
    except (ValueError, SchemaError) as exc:
        raise SchemaDefinitionError(str(exc)) from exc
    return Draft202012Validator(schema)


def schema_violations(schema_text, data):
    """List of ``"<path>: <problem>"`` strings, empty when data is valid:
    values nothing can store first, then the schema's violations."""
    problems = unstorable_values(data)
    if not schema_text:
        return problems
    validator = _validator(schema_text)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return problems + [f"{format_path(e.absolute_path)}: {e.message}" for e in errors]
