"""The trace of one order across systems: its steps in time, the wait before
each, where it is stuck and what it waits for. Pure functions, tested
without the ORM; the documents' ``_integration_trace_steps()`` hooks give
the steps as plain dicts and ``integration.document.mixin`` calls
:func:`build`.

A step dict, as a connector gives it (only ``key``, ``label`` and
``sequence`` are required)::

    {
        "key": "wms.shipped",          # what kind of step, stable
        "label": "Shipped by the WMS",  # for people
        "sequence": 60,                 # its place in the flow (SEQUENCE)
        "at": datetime or None,         # naive UTC; None: expected, not happened
        "system": "WMS",                # which system it happened in / with
        "detail": "2 x MUG-WHITE (lot L1)",
        "expect": "not shipped yet",    # pending steps: how the headline says it
        "res_model": "stock.picking", "res_id": 7, "document": "WH/OUT/00007",
        "message_id": 42,               # the exchange that made the step
        "exception_ids": [43],          # open desk items of the step
        "exception": "The parcel ...",  # the first one's problem
        "slot": "shipped:stock.picking,7",
        "fallback": False,              # dropped when another step has its slot
    }

:func:`build` returns ``{"steps": [...], "stuck": index or None, "next":
index or None, "headline": str, "state": "stuck" | "waiting" | "complete" |
"empty"}``; each returned step also has ``index``, ``status`` (``done``,
``exception``, ``current``, ``next``, ``pending``), ``stuck`` (bool),
``wait_seconds`` and ``wait`` (words: since the step before; for the next
expected step, since the current one, up to ``now``).
"""

from .desk import human_age

# Where each kind of step sits in the flow: the order of expected steps, and
# of steps at the same time.
SEQUENCE = {
    "received": 10,
    "confirmed": 20,
    "reserved": 30,
    "released": 40,
    "acknowledged": 50,
    "shipped": 60,
    "label": 65,
    "fulfillment": 70,
    "tracking": 80,
    "delivered": 90,
    "invoiced": 100,
    "payment": 110,
    "matched": 120,
    "exception": 0,
}

STATUSES = ("done", "exception", "current", "next", "pending")


def _sort_key(step):
    return (step["at"], step.get("sequence") or 0, step.get("_order", 0))


def resolve_slots(steps):
    """Drop the fallback steps whose slot another step fills (a delivery
    done in Odoo when the WMS's shipment of it is on the trace), and steps
    that are exact repeats (same key, document and time)."""
    filled = {s["slot"] for s in steps if s.get("slot") and not s.get("fallback")}
    kept, seen = [], set()
    for step in steps:
        if step.get("fallback") and step.get("slot") in filled:
            continue
        identity = (
            step["key"],
            step.get("res_model"),
            step.get("res_id"),
            step.get("at"),
            step.get("detail"),
        )
        if identity in seen:
            continue
        seen.add(identity)
        kept.append(step)
    return kept


def attach_exceptions(steps, exceptions, restrict=False):
    """Give every open exception a place: on the step whose message it is,
    else as a step of its own at its time. ``exceptions``: dicts with
    ``id``, ``name``, ``problem``, ``at``, ``res_model``, ``res_id``,
    ``document``, ``system``. With ``restrict``, the exceptions steps name
    themselves are kept only when listed (open, and readable by the user).
    Returns the steps (new list)."""
    known = {item["id"]: item for item in exceptions}
    steps = [dict(s, exception_ids=list(s.get("exception_ids") or [])) for s in steps]
    if restrict:
        # only what is open and readable: a step may name a closed item
        for step in steps:
            step["exception_ids"] = [i for i in step["exception_ids"] if i in known]
    for step in steps:
        if step["exception_ids"] and not step.get("exception"):
            item = known.get(step["exception_ids"][0])
            step["exception"] = item and item.get("problem")
    claimed = {i for s in steps for i in s["exception_ids"]}
    by_message = {s["message_id"]: s for s in steps if s.get("message_id")}
    for item in exceptions:
        if item["id"] in claimed:
            continue
        step = by_message.get(item["id"])
        if step is not None:
            step["exception_ids"].append(item["id"])
            if not step.get("exception"):
                step["exception"] = item.get("problem")
        else:
            steps.append(
                {
                    "key": "exception",
                    "label": item.get("name") or "Open exception",
                    "sequence": SEQUENCE["exception"],
                    "at": item.get("at"),
                    "system": item.get("system"),
                    "detail": "",
                    "res_model": item.get("res_model"),
                    "res_id": item.get("res_id"),
                    "document": item.get("document"),
                    "message_id": item["id"],
                    "exception_ids": [item["id"]],
                    "exception": item.get("problem"),
                }
            )
        claimed.add(item["id"])
    return steps


def _lower_first(text):
    return text[:1].lower() + text[1:] if text else text


def _ordered(steps):
    """Happened steps by time, then the expected ones in flow order; with
    their index, status and wait since the step before."""
    for order, step in enumerate(steps):
        step["_order"] = order
        step.setdefault("sequence", SEQUENCE.get(step["key"].split(".")[-1], 0))
    happened = sorted((s for s in steps if s.get("at")), key=_sort_key)
    pending = sorted(
        (s for s in steps if not s.get("at")),
        key=lambda s: (s.get("sequence") or 0, s["_order"]),
    )
    previous = None
    for index, step in enumerate(happened + pending):
        step.pop("_order", None)
        step.update(index=index, stuck=False, wait_seconds=None)
        if step["exception_ids"]:
            step["status"] = "exception"
        else:
            step["status"] = "done" if step.get("at") else "pending"
        if step.get("at"):
            if previous is not None:
                step["wait_seconds"] = max(0, (step["at"] - previous).total_seconds())
            previous = step["at"]
    return happened, pending


def wait_text(seconds):
    """How long a step waited for the one before: seconds under a minute
    (the flow's steps are seconds apart), else as the desk says an age."""
    if seconds < 60:
        return f"{int(seconds)} s"
    return human_age(seconds)


def _headline(stuck, current, next_step, last, now):
    """``(state, headline)``."""
    if stuck is not None:
        headline = f"Stuck at {_lower_first(stuck['label'])}"
        if stuck.get("document"):
            headline += f" ({stuck['document']})"
        if stuck.get("exception"):
            headline += f": {stuck['exception'].splitlines()[0]}"
        return "stuck", headline
    if next_step is not None:
        label = _lower_first(next_step["label"])
        expect = next_step.get("expect") or f"{label} not yet"
        if current is None:
            return "waiting", f"Waiting: {expect}."
        age = human_age((now - current["at"]).total_seconds())
        when = "just now" if age == "just now" else f"{age} ago"
        return "waiting", f"{current['label']} {when}, {expect}."
    if last is not None:
        return "complete", f"Complete: {_lower_first(last['label'])}."
    return "empty", "Nothing on the trace yet."


def build(steps, now, exceptions=None):
    """The trace: steps that happened in time order, then the expected ones
    in flow order; waits; the stuck step and the next expected one.
    ``exceptions``: the open exceptions the user may read (see
    :func:`attach_exceptions`); ``None``: the steps' own are taken as they
    are."""
    steps = attach_exceptions(
        resolve_slots(list(steps)), exceptions or (), restrict=exceptions is not None
    )
    happened, pending = _ordered(steps)
    ordered = happened + pending
    current = happened[-1] if happened else None
    next_step = next((s for s in pending if s["status"] == "pending"), None)
    if next_step is not None:
        next_step["status"] = "next"
        if current is not None:
            next_step["wait_seconds"] = max(0, (now - current["at"]).total_seconds())
            if current["status"] == "done":
                current["status"] = "current"
    for step in ordered:
        seconds = step["wait_seconds"]
        step["wait"] = wait_text(seconds) if seconds is not None else ""
    stuck = next((s for s in ordered if s["status"] == "exception"), None)
    state, headline = _headline(
        stuck, current, next_step, ordered[-1] if ordered else None, now
    )
    marked = stuck if stuck is not None else (current if next_step else None)
    if marked is None and next_step is not None:
        marked = next_step  # nothing happened yet: the first expected step
    if marked is not None:
        marked["stuck"] = True
    return {
        "steps": ordered,
        "stuck": marked["index"] if marked is not None else None,
        "next": next_step["index"] if next_step is not None else None,
        "headline": headline,
        "state": state,
    }


def pending_step(key, label, expect=None, **values):
    """An expected step (no time yet)."""
    return dict(
        key=key,
        label=label,
        at=None,
        expect=expect,
        sequence=values.pop("sequence", SEQUENCE.get(key.split(".")[-1], 0)),
        **values,
    )


def step(key, label, at, **values):
    """A step that happened at ``at`` (naive UTC)."""
    return dict(
        key=key,
        label=label,
        at=at,
        sequence=values.pop("sequence", SEQUENCE.get(key.split(".")[-1], 0)),
        **values,
    )


def quantities_text(lines):
    """``[(qty, sku, lot)]`` -> ``"2 x MUG-WHITE (lot L1), 1 x CAP"``."""
    parts = []
    for quantity, sku, lot in lines:
        qty = f"{quantity:g}" if isinstance(quantity, float) else str(quantity)
        text = f"{qty} x {sku}"
        if lot:
            text += f" (lot {lot})"
        parts.append(text)
    return ", ".join(parts)
