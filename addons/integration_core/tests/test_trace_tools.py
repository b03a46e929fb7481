"""The order trace's mechanics, without the ORM: time order, waits, slots,
exceptions given a place, the stuck step and the headline."""

from datetime import datetime, timedelta

from ..tools import trace

T0 = datetime(2026, 12, 1, 8, 0, 0)


def _at(minutes):
    return T0 + timedelta(minutes=minutes)


def _flow():
    return [
        trace.step("wms.released", "Released to the WMS", _at(30), document="OUT/1"),
        trace.step("shopify.received", "Received from Shopify", _at(0), message_id=1),
        trace.step("sale.confirmed", "Confirmed", _at(0)),
        trace.pending_step("wms.shipped", "Shipped by the WMS", "not shipped yet"),
        trace.pending_step("sale.invoiced", "Invoiced"),
        trace.step("wms.reserved", "Reserved", _at(10)),
    ]


def test_happened_steps_by_time_then_expected_ones_by_flow_order():
    result = trace.build(_flow(), now=_at(210))
    keys = [s["key"] for s in result["steps"]]
    assert keys == [
        "shopify.received",
        "sale.confirmed",  # same time: the flow's order
        "wms.reserved",
        "wms.released",
        "wms.shipped",
        "sale.invoiced",
    ]
    assert [s["index"] for s in result["steps"]] == list(range(6))


def test_a_wait_under_a_minute_reads_in_seconds():
    assert trace.wait_text(0) == "0 s"
    assert trace.wait_text(12.7) == "12 s"
    assert trace.wait_text(59.9) == "59 s"
    assert trace.wait_text(60) == "1 min"


def test_waits_between_steps_and_since_the_last_one():
    steps = trace.build(_flow(), now=_at(210))["steps"]
    assert steps[0]["wait_seconds"] is None and steps[0]["wait"] == ""
    # the flow's steps are seconds apart: a wait under a minute in seconds
    assert steps[1]["wait_seconds"] == 0 and steps[1]["wait"] == "0 s"
    assert steps[2]["wait_seconds"] == 600 and steps[2]["wait"] == "10 min"
    assert steps[3]["wait_seconds"] == 1200
    # the expected next step has waited since the release, up to now
    assert steps[4]["wait_seconds"] == 180 * 60 and steps[4]["wait"] == "3 h"
    assert steps[5]["wait_seconds"] is None


def test_the_order_waits_at_the_last_step_with_the_next_one_named():
    result = trace.build(_flow(), now=_at(210))
    steps = result["steps"]
    assert result["state"] == "waiting"
    assert result["stuck"] == 3 and steps[3]["stuck"]
    assert [s["stuck"] for s in steps].count(True) == 1
    assert steps[3]["status"] == "current"
    assert result["next"] == 4 and steps[4]["status"] == "next"
    assert steps[5]["status"] == "pending"
    assert result["headline"] == "Released to the WMS 3 h ago, not shipped yet."


def test_an_open_exception_is_the_stuck_step():
    exceptions = [
        {"id": 1, "problem": "Totals differ\nmore", "at": _at(1)},  # the order's
        {"id": 9, "name": "WMS release OUT/1", "problem": "Refused", "at": _at(40)},
    ]
    result = trace.build(_flow(), now=_at(210), exceptions=exceptions)
    steps = result["steps"]
    received = steps[0]
    assert received["exception_ids"] == [1] and received["status"] == "exception"
    assert received["stuck"] and result["stuck"] == 0
    # an exception no step claims is a step of its own, at its time
    own = [s for s in steps if s["key"] == "exception"]
    assert len(own) == 1 and own[0]["at"] == _at(40) and own[0]["message_id"] == 9
    assert result["state"] == "stuck"
    assert result["headline"] == "Stuck at received from Shopify: Totals differ"


def test_a_pending_step_with_a_failed_message_is_stuck():
    steps = [
        trace.step("wms.reserved", "Reserved", _at(0)),
        trace.pending_step("wms.released", "Released to the WMS", message_id=5),
    ]
    result = trace.build(steps, _at(60), [{"id": 5, "problem": "No SKU"}])
    assert result["steps"][1]["status"] == "exception"
    assert result["stuck"] == 1
    assert result["headline"] == "Stuck at released to the WMS: No SKU"


def test_fallback_steps_give_way_to_the_step_of_their_slot():
    steps = [
        trace.step("stock.shipped", "Shipped", _at(5), slot="s:1", fallback=True),
        trace.step("wms.shipped", "Shipped by the WMS", _at(4), slot="s:1"),
        trace.step("stock.shipped", "Shipped", _at(9), slot="s:2", fallback=True),
        trace.pending_step("sale.invoiced", "Invoiced", slot="i:1", fallback=True),
    ]
    keys = [(s["key"], s["slot"]) for s in trace.build(steps, _at(10))["steps"]]
    assert keys == [
        ("wms.shipped", "s:1"),
        ("stock.shipped", "s:2"),
        ("sale.invoiced", "i:1"),
    ]


def test_complete_and_empty_traces():
    done = trace.build([trace.step("bank.matched", "Payment matched", T0)], T0)
    assert done["state"] == "complete" and done["stuck"] is None
    assert done["headline"] == "Complete: payment matched."
    empty = trace.build([], T0)
    assert empty["state"] == "empty" and empty["steps"] == []
    first = trace.build([trace.pending_step("sale.confirmed", "Confirmed")], T0)
    assert first["state"] == "waiting" and first["stuck"] == 0
    assert first["headline"] == "Waiting: confirmed not yet."


def test_quantities_text():
    assert (
        trace.quantities_text([(2.0, "MUG", "L1"), (1.5, "TEA", None), (3, "X", "")])
        == "2 x MUG (lot L1), 1.5 x TEA, 3 x X"
    )


def test_a_step_names_only_open_readable_exceptions_and_says_their_problem():
    steps = [
        trace.step("carrier.tracking", "Tracking: failure", _at(0), exception_ids=[7]),
        trace.step("carrier.label", "Label", _at(-1), exception_ids=[8]),  # closed
    ]
    result = trace.build(steps, _at(5), [{"id": 7, "problem": "Address not found"}])
    by_key = {s["key"]: s for s in result["steps"]}
    assert by_key["carrier.tracking"]["exception"] == "Address not found"
    assert by_key["carrier.tracking"]["stuck"]
    assert by_key["carrier.label"]["exception_ids"] == []
    assert by_key["carrier.label"]["status"] == "done"
    assert result["headline"] == "Stuck at tracking: failure: Address not found"
