from collections import defaultdict

from odoo import _, fields, models
from odoo.tools import float_compare, float_repr

from odoo.addons.integration_core.exceptions import (
    BusinessRuleError,
    ConcurrencyConflict,
    SkipMessage,
    ValidationFailed,
)
from odoo.addons.integration_core.models.integration_message import (
    row_lock_conflict,
)

from ..contract import ContractError, parse_order_status, parse_shipment

# seconds before a confirmation that met another one of its order retries
RETRY_SOON = 1


def _naive(value):
    return value.replace(tzinfo=None) if value else False


def _differs(record, name, value):
    """Does ``record.name`` differ from the value ``write`` would get?"""
    current = record[name]
    if isinstance(current, models.BaseModel):
        return current.id != (value or False)
    if isinstance(current, float):
        return float_compare(current, value, precision_digits=6) != 0
    return current != value


def qty_text(value, rounding=0.001):
    """``3`` rather than ``3.0``; ``2.5`` stays."""
    digits = max(0, len(f"{rounding:.10f}".rstrip("0").split(".")[1]))
    text = float_repr(float(value), digits)
    return text.rstrip("0").rstrip(".") if "." in text else text


class WmsConfirmationMixin(models.AbstractModel):
    """What shipments and receipts share: finding the transfer, lots, the
    named exceptions that change nothing."""

    _name = "wms.confirmation.mixin"
    _description = "WMS confirmations: shared helpers"

    def _parse(self, parse, event):
        """``parse(event)`` (validated by the core already), or a validation
        error listing what breaks the contract."""
        try:
            return parse(event, validate=False)
        except ContractError as exc:
            raise ValidationFailed(exc.message, exc.problems) from exc

    def _claim(self, backend, kind, external_id, ref, label):
        """One confirmation of a WMS order at a time (advisory lock), and
        each confirmation (``kind``, ``external_id``) applied once: a second
        one is skipped, naming the event that applied it."""
        backend._advisory_lock(
            "wms.order",
            ref,
            busy_message=_("Another confirmation of %s is applied now.", ref),
            retry_after=RETRY_SOON,
        )
        applied = self.env["wms.shipment"].search(
            [
                ("backend_id", "=", backend.id),
                ("kind", "=", kind),
                ("external_id", "=", external_id),
            ],
            limit=1,
        )
        if applied:
            raise SkipMessage(
                _(
                    "%(what)s %(id)s of %(ref)s was applied already (event %(event)s).",
                    what=label,
                    id=external_id,
                    ref=ref,
                    event=applied.event_id,
                )
            )

    def _find_picking(self, backend, ref, open_only=True):
        domain = [
            ("wms_backend_id", "=", backend.id),
            "|",
            ("wms_order_ref", "=", ref),
            ("name", "=", ref),
        ]
        if open_only:
            domain.append(("state", "not in", ("done", "cancel")))
        picking = self.env["stock.picking"].search(domain, order="id", limit=1)
        if picking:
            self._lock_current(picking, ref)
        return picking

    def _lock_current(self, picking, ref):
        """Row-lock the transfer a confirmation changes, or retry soon.

        The order's advisory lock makes confirmations of one order take
        turns, but it is taken after this transaction's snapshot began
        (Odoo's isolation is REPEATABLE READ): when another confirmation of
        the order committed just before this one got the lock, this
        transaction still sees the transfer as it was, and would apply its
        confirmation to a state that no longer exists (the same shipment a
        second time, or a split shipment to the picking instead of its new
        backorder). Locking the row tells: PostgreSQL refuses to lock a row
        changed since the snapshot. The message then retries in a fresh
        transaction (a ``ConcurrencyConflict``, retried in seconds), which
        sees the other confirmation and applies this one once, or skips it.
        """
        conflict = row_lock_conflict(self.env.cr, "stock_picking", picking.id)
        if conflict:
            raise ConcurrencyConflict(
                _(
                    "%(label)s: another confirmation of %(ref)s was applied at the "
                    "same time; this one is applied after it.",
                    label=picking._wms_label(),
                    ref=ref,
                ),
                str(conflict),
                retry_after=RETRY_SOON,
            ) from conflict

    def _refuse(self, picking, text):
        """A named exception about ``picking``: nothing of the confirmation is
        applied (the handler's savepoint is rolled back)."""
        return BusinessRuleError(
            _(
                "%(label)s: %(text)s Nothing was changed.",
                label=picking._wms_label(),
                text=text,
            )
        ).about(picking)

    def _lot(self, product, company, name, expiry=None):
        Lot = self.env["stock.lot"]
        lot = Lot.search(
            [
                ("product_id", "=", product.id),
                ("name", "=", name),
                ("company_id", "in", (company.id, False)),
            ],
            limit=1,
        )
        values = {}
        if expiry:
            values["wms_expiry_date"] = expiry
            if "expiration_date" in Lot._fields:
                values["expiration_date"] = fields.Datetime.to_datetime(expiry)
        if not lot:
            return Lot.create(
                {
                    "name": name,
                    "product_id": product.id,
                    "company_id": company.id,
                    **values,
                }
            )
        if expiry and lot.wms_expiry_date != expiry:
            lot.write(values)
        return lot

    def _plan(self, picking, lines, what, with_rejected=False):
        """``{move: [(quantity, lot name, expiry, rejected)]}`` of the
        confirmation's lines, or the named exception of the first line that
        does not fit (unknown SKU, not on the transfer, serials, lots, more
        than ordered)."""
        moves = picking.move_ids.filtered(lambda m: m.state not in ("done", "cancel"))
        by_line, by_sku = {}, defaultdict(list)
        for move in moves:
            by_line[move.wms_line_id or str(move.id)] = move
            by_sku[move.product_id.default_code].append(move)
        skus = {line.sku for line in lines}
        known = set(
            self.env["product.product"]
            .with_context(active_test=False)
            .search([("default_code", "in", list(skus))])
            .mapped("default_code")
        )
        plan = defaultdict(list)
        for line in lines:
            total = line.quantity + (line.quantity_rejected if with_rejected else 0)
            if not total:
                continue
            move = by_line.get(line.line_id) if line.line_id else None
            if move is None or move.product_id.default_code != line.sku:
                move = (by_sku.get(line.sku) or [None])[0]
            if move is None:
                if line.sku not in known:
                    raise self._refuse(
                        picking,
                        _(
                            "the WMS %(what)s SKU '%(sku)s', which no product in Odoo "
                            "has "
                            "as internal reference.",
                            what=what,
                            sku=line.sku,
                        ),
                    )
                raise self._refuse(
                    picking,
                    _(
                        "the WMS %(what)s SKU '%(sku)s', which is not on it.",
                        what=what,
                        sku=line.sku,
                    ),
                )
            tracking = move.product_id.tracking
            if tracking == "serial":
                if len(line.serials) != line.quantity:
                    raise self._refuse(
                        picking,
                        _(
                            "the WMS sent %(count)s serial number(s) for "
                            "%(qty)s of SKU '%(sku)s'.",
                            count=len(line.serials),
                            qty=qty_text(line.quantity),
                            sku=line.sku,
                        ),
                    )
                chunks = [(1, serial, None, False) for serial in line.serials]
            elif tracking == "lot" and line.quantity:
                if not line.lots:
                    raise self._refuse(
                        picking,
                        _(
                            "SKU '%(sku)s' is tracked by lots, but the WMS gave no lot "
                            "for it.",
                            sku=line.sku,
                        ),
                    )
                chunks = [
                    (lot.quantity, lot.name, lot.expiry_date, False)
                    for lot in line.lots
                ]
            else:
                chunks = [(line.quantity, None, None, False)] if line.quantity else []
            if with_rejected and line.quantity_rejected:
                if tracking != "none" and not line.lots:
                    raise self._refuse(
                        picking,
                        _(
                            "the WMS rejected %(qty)s of SKU '%(sku)s' without naming "
                            "their lot.",
                            qty=qty_text(line.quantity_rejected),
                            sku=line.sku,
                        ),
                    )
                lot = line.lots[0] if line.lots else None
                chunks.append(
                    (
                        line.quantity_rejected,
                        lot and lot.name,
                        lot and lot.expiry_date,
                        True,
                    )
                )
            plan[move] += chunks
        for move, chunks in plan.items():
            total = sum(float(chunk[0]) for chunk in chunks)
            if (
                float_compare(
                    total,
                    move.product_uom_qty,
                    precision_rounding=move.product_uom.rounding,
                )
                > 0
            ):
                raise self._refuse(
                    picking,
                    _(
                        "the WMS %(what)s %(qty)s of SKU '%(sku)s', only %(ordered)s "
                        "were ordered.",
                        what=what,
                        qty=qty_text(total),
                        sku=move.product_id.default_code,
                        ordered=qty_text(move.product_uom_qty),
                    ),
                )
        return plan

    def _complete(self, backend, kind, ref, this):
        """Is the order complete with ``this`` confirmation: its final one
        known and all of its confirmations applied (whatever their order)?"""
        Shipment = self.env["wms.shipment"]
        applied = Shipment.search(
            [
                ("backend_id", "=", backend.id),
                ("kind", "=", kind),
                ("order_ref", "=", ref),
            ]
        )
        count = this.get("shipment_count") or max(
            [s.shipment_count for s in applied if s.final] or [0]
        )
        return bool(count) and len(applied) + 1 >= count


class WmsShipmentImporter(models.AbstractModel):
    """Applies shipment confirmations (each once, as a delta) and order
    status events to the delivery orders."""

    _name = "wms.shipment.importer"
    _inherit = "wms.confirmation.mixin"
    _description = "WMS: apply shipment confirmations"

    def _apply(self, backend, message, event):
        shipment = self._parse(parse_shipment, event)
        ref = shipment.order_ref
        self._claim(backend, "shipment", shipment.shipment_id, ref, _("Shipment"))
        Shipment = self.env["wms.shipment"]
        picking = self._find_picking(backend, ref)
        if not picking:
            closed = self._find_picking(backend, ref, open_only=False)
            if closed:
                raise BusinessRuleError(
                    _(
                        "%(label)s: the WMS confirmed shipment %(id)s, but the "
                        "delivery "
                        "is already %(state)s. Nothing was changed.",
                        label=closed._wms_label(),
                        id=shipment.shipment_id,
                        state=dict(
                            closed._fields["state"]._description_selection(self.env)
                        )[closed.state],
                    )
                ).about(closed)
            raise BusinessRuleError(
                _(
                    "%(wms)s: the WMS confirmed shipment %(id)s of '%(ref)s', but no "
                    "delivery has that reference.",
                    wms=backend.name,
                    id=shipment.shipment_id,
                    ref=ref,
                )
            )
        if picking.picking_type_code != "outgoing":
            raise self._refuse(picking, _("the WMS sent a shipment for a receipt."))
        plan = self._plan(picking, shipment.lines, _("shipped"))
        # the remainder policy applies once the final shipment and all the
        # ones before it are in, whatever order they came in
        complete = self._complete(
            backend, "shipment", ref, {"shipment_count": shipment.shipment_count}
        )
        packages = self._packages(picking, shipment)
        tracking = ", ".join(shipment.tracking_numbers())
        if plan:
            self._set_quantities(picking, plan, packages)
            if tracking and "carrier_tracking_ref" in picking._fields:
                # the WMS labelled the parcels: known before the validation,
                # so that Odoo does not buy labels of its own from the
                # delivery's carrier (it ships only what has no tracking)
                picking.carrier_tracking_ref = tracking
            cancel_rest = complete and backend.wms_remainder_policy == "cancel"
            picking.with_context(
                wms_confirmation=True, cancel_backorder=cancel_rest
            )._action_done()
        backorders = picking.backorder_ids.filtered(
            lambda p: p.state not in ("done", "cancel")
        )
        if not complete:
            # the WMS ships the rest under the same order: it is not released again
            backorders.write(
                {
                    "wms_state": picking.wms_state or "acknowledged",
                    "wms_order_ref": ref,
                    "wms_revision": picking.wms_revision,
                }
            )
        values = {"wms_state": "shipped"} if plan else {}
        if tracking and "carrier_tracking_ref" in picking._fields:
            values["carrier_tracking_ref"] = tracking
        picking.write(values)
        Shipment.create(
            {
                "name": _(
                    "Shipment %(seq)s of %(ref)s", seq=shipment.sequence, ref=ref
                ),
                "kind": "shipment",
                "backend_id": backend.id,
                "external_id": shipment.shipment_id,
                "event_id": shipment.event_id,
                "order_ref": ref,
                "sequence": shipment.sequence,
                "final": shipment.final,
                "shipment_count": shipment.shipment_count or 0,
                "shipped_at": _naive(shipment.shipped_at or shipment.occurred_at),
                "picking_id": picking.id,
                "message_id": message.id,
                "tracking_numbers": tracking or False,
                "package_ids": [
                    (
                        0,
                        0,
                        {
                            "name": package.ref,
                            "package_id": record.id,
                            "weight_kg": float(package.weight_kg or 0),
                            "tracking_number": package.tracking_number,
                            "carrier": package.carrier or shipment.carrier,
                        },
                    )
                    for package, record, _contents in packages
                ],
            }
        )
        return picking

    def _packages(self, picking, shipment):
        """``[(parsed package, stock.quant.package, {(sku, lot): [remaining]})]``."""
        Package = self.env["stock.quant.package"]
        result = []
        for package in shipment.packages:
            values = {"name": package.ref, "company_id": picking.company_id.id}
            if "shipping_weight" in Package._fields and package.weight_kg is not None:
                values["shipping_weight"] = float(package.weight_kg)
            contents = defaultdict(list)
            for item in package.contents:
                contents[(item.sku, item.lot)].append(item.quantity)
            result.append((package, Package.create(values), contents))
        return result

    @staticmethod
    def _take_package(packages, sku, lot, quantity):
        """Split ``quantity`` over the packages whose contents name it:
        ``[(package record or False, quantity)]``."""
        parts, left = [], quantity
        for _parsed, record, contents in packages:
            for key in ((sku, lot), (sku, None)):
                remaining = contents.get(key)
                if not remaining or left <= 0:
                    continue
                take = min(remaining[0], left)
                if take > 0:
                    remaining[0] -= take
                    left -= take
                    parts.append((record, take))
        if left > 0:
            parts.append((False, left))
        return parts

    def _set_quantities(self, picking, plan, packages):
        """The move lines say what the WMS shipped. The reservation's lines
        are reused (written where they differ: a quantity or a lot changed
        adjusts the reservation once), new ones made only for what is
        beyond them, and the ones left over removed: unlinking every
        reservation line and creating new ones released and reserved each
        of them again, the most expensive part of a confirmation."""
        MoveLine = self.env["stock.move.line"]
        values, spare_lines = [], MoveLine
        for move, chunks in plan.items():
            spare = list(move.move_line_ids)
            sku = move.product_id.default_code
            for quantity, lot_name, expiry, _rejected in chunks:
                lot = (
                    self._lot(move.product_id, picking.company_id, lot_name, expiry)
                    if lot_name
                    else self.env["stock.lot"]
                )
                for package, part in self._take_package(
                    packages, sku, lot_name, quantity
                ):
                    wanted = {
                        "location_id": move.location_id.id,
                        "location_dest_id": move.location_dest_id.id,
                        "lot_id": lot.id or False,
                        "package_id": False,
                        "owner_id": False,
                        "quantity": float(part),
                        "result_package_id": package.id if package else False,
                        "picked": True,
                    }
                    line = next((ml for ml in spare if ml.lot_id == lot), None) or (
                        spare[0] if spare else None
                    )
                    if line is None:
                        values.append(
                            {
                                **wanted,
                                "move_id": move.id,
                                "picking_id": picking.id,
                                "product_id": move.product_id.id,
                                "product_uom_id": move.product_uom.id,
                            }
                        )
                        continue
                    spare.remove(line)
                    changes = {
                        name: value
                        for name, value in wanted.items()
                        if _differs(line, name, value)
                    }
                    if line.product_uom_id != move.product_uom:
                        changes["product_uom_id"] = move.product_uom.id
                    if changes:
                        line.write(changes)
            spare_lines |= MoveLine.concat(*spare)
        spare_lines.unlink()
        MoveLine.create(values)
        for move in plan:
            move.picked = True
        # what the WMS did not ship in this shipment waits for the next one
        (picking.move_ids - self.env["stock.move"].concat(*plan)).filtered(
            lambda m: m.state not in ("done", "cancel")
        ).write({"picked": False})

    # -- order status ---------------------------------------------------------------
    def _apply_status(self, backend, message, event):
        status = self._parse(parse_order_status, event)
        ref = status.order_ref
        backend._advisory_lock(
            "wms.order",
            ref,
            busy_message=_("Another event of %s is applied now.", ref),
            retry_after=RETRY_SOON,
        )
        picking = self._find_picking(backend, ref) or self._find_picking(
            backend, ref, open_only=False
        )
        if not picking:
            raise SkipMessage(
                _(
                    "The WMS reported '%(status)s' for '%(ref)s', which Odoo does not "
                    "know.",
                    status=status.status,
                    ref=ref,
                )
            )
        at = _naive(status.occurred_at)
        if picking.wms_status_at and at < picking.wms_status_at:
            raise SkipMessage(
                _(
                    "%(label)s: status '%(status)s' of %(at)s is older than the one "
                    "applied; skipped.",
                    label=picking._wms_label(),
                    status=status.status,
                    at=at,
                )
            )
        label = picking._wms_label()
        values = {"wms_remote_status": status.status, "wms_status_at": at}
        problem = False
        state = picking.wms_state
        if status.status in ("received", "acknowledged"):
            if state in (False, "waiting", "to_release", "held", "released"):
                values["wms_state"] = (
                    "announced"
                    if picking.picking_type_code == "incoming"
                    else "acknowledged"
                )
        elif status.status == "cancelled" and picking.state not in ("done", "cancel"):
            if state == "cancel_requested":
                picking.write(values)
                picking._wms_cancel_confirmed()
                return picking
            problem = _(
                "%(label)s: the WMS cancelled it on its own (%(reason)s). Odoo has "
                "not cancelled it: cancel it here, or ask the WMS why.",
                label=label,
                reason=status.reason or _("no reason given"),
            )
        elif status.status == "cancel_refused" and state == "cancel_requested":
            values["wms_state"] = "acknowledged"
            problem = picking._wms_cancel_refused(status.reason or _("too late"))
        elif status.status == "refused":
            values["wms_state"] = "refused"
            problem = _(
                "%(label)s: the WMS refused the order (%(reason)s).",
                label=label,
                reason=status.reason or _("no reason given"),
            )
        picking.write(values)
        return {"records": picking, "business_exception": problem}
