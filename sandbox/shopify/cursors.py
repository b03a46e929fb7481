"""Keyset pagination with opaque cursors (GraphQL connections, REST Link)."""

from ..core.util import b64url_json, b64url_json_decode

MAX_PAGE = 250


class CursorError(ValueError):
    pass


def encode_cursor(key):
    """Opaque cursor for a sort key (a tuple of JSON scalars)."""
    return b64url_json({"last_id": key[-1], "last_value": list(key[:-1])})


def decode_cursor(cursor):
    try:
        data = b64url_json_decode(cursor)
        return (*data["last_value"], data["last_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CursorError("Invalid cursor") from exc


def paginate(items, key, first=None, after=None, last=None, before=None, reverse=False):
    """Slice ``items`` (any order) by cursors.

    ``key(item)`` must give a unique, comparable tuple ending with the id.
    Returns (page, has_next_page, has_previous_page).
    """
    if first is None and last is None:
        raise CursorError("you must provide one of first or last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and (value < 0 or value > MAX_PAGE):
            raise CursorError(
                f"The '{name}' argument must be between 0 and {MAX_PAGE}."
            )
    ordered = sorted(items, key=key, reverse=reverse)
    keys = [tuple(key(i)) for i in ordered]

    def later(a, b):  # a comes after b in the current ordering
        return a < b if reverse else a > b

    lo, hi = 0, len(ordered)
    if after:
        after_key = decode_cursor(after)
        while lo < hi and not later(keys[lo], after_key):
            lo += 1
    if before:
        before_key = decode_cursor(before)
        while hi > lo and not later(before_key, keys[hi - 1]):
            hi -= 1
    start, end = lo, hi
    if first is not None:
        end = min(hi, start + first)
    if last is not None:
        start = max(start, end - last)
    return ordered[start:end], end < len(ordered), start > 0


def connection(items, key, args, wrap=lambda x: x):
    """GraphQL connection dict (edges/nodes/pageInfo) from pagination args."""
    page, has_next, has_prev = paginate(
        items,
        key,
        first=args.get("first"),
        after=args.get("after"),
        last=args.get("last"),
        before=args.get("before"),
        reverse=bool(args.get("reverse")),
    )
    cursors = [encode_cursor(tuple(key(i))) for i in page]
    nodes = [wrap(i) for i in page]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes)],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_prev,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }
