import json
import logging
import uuid

from odoo import _, api, models

from odoo.addons.integration_core.exceptions import SkipMessage

from ..tools import graphql
from ..tools.pagination import next_page_url
from ..tools.stock import plan_changes, sellable_quantity

_logger = logging.getLogger(__name__)
MAX_ROUNDS = 3  # attempts of one batch whose guards turned out stale
MAX_LISTED_ERRORS = 20


class ShopifyStockExporter(models.AbstractModel):
    """Stock levels out (Odoo is the system of record).

    Quant changes record their products in the core's outbox
    (``integration.outbox``, business object ``stock_level``); the stock sync
    rule sends them by its mode (micro-batch by default) as outbound
    ``stock.export`` messages of ``{"model": "product.product", "ids": [...]}``
    (retried like any message; the rule's batch size is large, since SKUs are
    looked up in bulk). Its job sends, per mapped Shopify location, the free
    quantity of the mapped warehouses for the products whose quantity
    differs from what Shopify holds, in ``inventorySetQuantities`` calls of
    at most 250 quantities, each guarded by ``changeFromQuantity``. A daily
    full resync reads Shopify's levels and corrects every difference.
    """

    _name = "shopify.stock.exporter"
    _description = "Shopify stock export"

    # ------------------------------------------------------------------
    # Scheduling
    # ------------------------------------------------------------------
    def _shopify_backends(self):
        return self.env["integration.backend"].search(
            [("connector_type", "=", "shopify")]
        )

    @api.model
    def _cron_full_resync(self):
        for backend in self._shopify_backends():
            if backend._flow_allowed("stock_level", "export"):
                self._queue_export(backend, full=True)

    @api.model
    def _queue_export(self, backend, full=False):
        """The outbound message of everything (``full``), or of the changes
        waiting in the outbox, sent now (empty when nothing changed)."""
        if not full:
            rule = backend._sync_rule("stock_level")
            if not rule or not rule._allows("export"):
                return self.env["integration.message"]
            return rule._outbox_flush()
        message, _created = self.env["integration.message"]._intake(
            backend,
            "stock.export",
            f"stock:full:{uuid.uuid4().hex}",
            json.dumps({"full": True}).encode(),
            direction="out",
            external_id=_("full resync"),
        )
        return message

    # ------------------------------------------------------------------
    # The export
    # ------------------------------------------------------------------
    @api.model
    def _export(self, backend, message, data):
        backend._advisory_lock(
            "shopify.stock_export",
            "all",
            _("%s: another stock export is running.", backend.name),
            retry_after=10,
        )
        locations = backend.shopify_location_ids.filtered(
            lambda loc: loc.active and loc.export_stock and loc.warehouse_ids
        )
        if not locations:
            raise SkipMessage(
                _(
                    "%s: no Shopify location is mapped to an Odoo warehouse; no "
                    "stock was sent.",
                    backend.name,
                )
            )
        full = bool(data.get("full"))
        products = self._products(backend, data, full)
        items = self._inventory_items(backend, products)
        products = products.filtered(lambda p: p.id in items)
        targets = self._odoo_quantities(locations, products)
        if full:
            known = self._shopify_quantities(backend, locations, items)
        else:
            known = self._known_quantities(locations, products)
        changes = plan_changes(targets, known)
        sent, errors = self._send(backend, message, changes, items, locations)
        self._remember(backend, sent)
        unknown = len(self._products(backend, data, full)) - len(products)
        notes = errors[:MAX_LISTED_ERRORS]
        if len(errors) > MAX_LISTED_ERRORS:
            notes.append(_("... and %s more.", len(errors) - MAX_LISTED_ERRORS))
        # Products not sold in Shopify are normal (a distributor's catalogue
        # is larger than its web shop's): logged, not a desk item.
        _logger.info(
            "%s: stock export of %s product(s): %s quantity(ies) sent, %s error(s), "
            "%s product(s) without a Shopify variant of their SKU",
            backend.name,
            len(products),
            len(sent),
            len(errors),
            unknown,
        )
        if notes:
            return {"records": None, "business_exception": "\n".join(notes)}
        return None

    def _products(self, backend, data, full):
        Product = self.env["product.product"].with_context(active_test=False)
        domain = [
            ("type", "=", "product"),
            ("default_code", "!=", False),
            ("company_id", "in", (False, backend.company_id.id)),
        ]
        if full:
            return Product.search(domain)
        return Product.search(domain + [("id", "in", data.get("ids") or [])])

    def _inventory_items(self, backend, products):
        """``{product id: inventory item id}``; SKUs not known yet are
        looked up in Shopify (by SKU for a few, by reading the catalogue for
        many) and remembered."""
        Item = self.env["shopify.inventory.item"]
        items = {
            item.product_id.id: item
            for item in Item.search(
                [("backend_id", "=", backend.id), ("product_id", "in", products.ids)]
            )
        }
        missing = products.filtered(
            lambda p: p.id not in items or items[p.id].sku != p.default_code
        )
        if missing:
            found = self._lookup_variants(backend, set(missing.mapped("default_code")))
            to_create = []
            for product in missing:
                variant = found.get(product.default_code)
                if not variant:
                    continue
                values = {
                    "sku": product.default_code,
                    "variant_id": variant[0],
                    "inventory_item_id": variant[1],
                }
                if product.id in items:
                    items[product.id].write(values)
                else:
                    to_create.append(
                        {**values, "backend_id": backend.id, "product_id": product.id}
                    )
            for item in Item.create(to_create):
                items[item.product_id.id] = item
        return {
            product_id: item.inventory_item_id
            for product_id, item in items.items()
            if item.sku == products.browse(product_id).default_code
        }

    def _lookup_variants(self, backend, skus):
        """``{sku: (variant id, inventory item id)}`` of the SKUs found."""
        if len(skus) > graphql.MAX_SET_QUANTITIES:
            return self._scan_catalogue(backend, skus)
        found = {}
        for chunk in graphql.chunked(sorted(skus), graphql.SKUS_PER_LOOKUP):
            query, variables = graphql.variants_by_sku(chunk)
            nodes = backend._shopify_graphql(query, variables, "shopify.variants")[
                "productVariants"
            ]["nodes"]
            for node in nodes:
                if node.get("sku") in skus and node.get("inventoryItem"):
                    found.setdefault(
                        node["sku"],
                        (
                            graphql.legacy_id(node["id"]),
                            graphql.legacy_id(node["inventoryItem"]["id"]),
                        ),
                    )
        return found

    def _scan_catalogue(self, backend, skus):
        """Every variant of the shop through REST pages of 250 (far cheaper
        than thousands of lookups against the GraphQL cost budget)."""
        found = {}
        url = "products.json"
        params = {"limit": 250, "fields": "id,variants"}
        while url:
            response = backend._shopify_request(
                "GET", url, "shopify.products", params=params
            )
            for product in response.json().get("products") or []:
                for variant in product.get("variants") or []:
                    sku = variant.get("sku")
                    if sku in skus and variant.get("inventory_item_id"):
                        found.setdefault(
                            sku,
                            (str(variant["id"]), str(variant["inventory_item_id"])),
                        )
            url, params = next_page_url(response.headers.get("Link")), None
        return found

    def _odoo_quantities(self, locations, products):
        """``{(shopify.location id, product id): free quantity}`` summed over
        the warehouses mapped to each location, and those only."""
        targets = {}
        Quant = self.env["stock.quant"]
        for location in locations:
            for product in products:
                targets[(location.id, product.id)] = 0
            if not products:
                continue
            groups = Quant._read_group(
                [
                    ("product_id", "in", products.ids),
                    ("location_id", "child_of", location._stock_location_ids()),
                ],
                ["product_id"],
                ["quantity:sum", "reserved_quantity:sum"],
            )
            for product, quantity, reserved in groups:
                targets[(location.id, product.id)] = sellable_quantity(
                    quantity or 0, reserved or 0
                )
        return targets

    def _known_quantities(self, locations, products):
        levels = self.env["shopify.inventory.level"].search_read(
            [("location_id", "in", locations.ids), ("product_id", "in", products.ids)],
            ["location_id", "product_id", "quantity"],
        )
        return {
            (level["location_id"][0], level["product_id"][0]): level["quantity"]
            for level in levels
        }

    def _shopify_quantities(self, backend, locations, items):
        """What Shopify holds now (full resync): REST inventory levels."""
        by_item = {str(item): product for product, item in items.items()}
        known = {}
        for location in locations:
            url = "inventory_levels.json"
            params = {"location_ids": location.shopify_id, "limit": 250}
            while url:
                response = backend._shopify_request(
                    "GET", url, "shopify.inventory_levels", params=params
                )
                for level in response.json().get("inventory_levels") or []:
                    product = by_item.get(str(level.get("inventory_item_id")))
                    if product and level.get("available") is not None:
                        known[(location.id, product)] = int(level["available"])
                url, params = next_page_url(response.headers.get("Link")), None
        return known

    def _current_quantities(self, backend, quantities):
        """Shopify's current available quantity of some (item, location)."""
        current = {}
        by_location = {}
        for quantity in quantities:
            by_location.setdefault(quantity["location_id"], []).append(quantity)
        for location_id, entries in by_location.items():
            ids = [
                graphql.gid("InventoryItem", q["inventory_item_id"]) for q in entries
            ]
            for chunk in graphql.chunked(ids, 100):
                nodes = backend._shopify_graphql(
                    graphql.INVENTORY_LEVELS_QUERY,
                    {"ids": chunk, "locationId": graphql.gid("Location", location_id)},
                    "shopify.inventory_levels",
                )["nodes"]
                for node in nodes:
                    if not node:
                        continue
                    level = node.get("inventoryLevel") or {}
                    available = next(
                        (
                            q["quantity"]
                            for q in level.get("quantities") or []
                            if q["name"] == "available"
                        ),
                        None,
                    )
                    current[(graphql.legacy_id(node["id"]), location_id)] = available
        return current

    def _send(self, backend, message, changes, items, locations):
        """Send the changes; returns ``({key: quantity sent}, [errors])``."""
        location_ids = {loc.id: loc.shopify_id for loc in locations}
        names = {loc.id: loc.name for loc in locations}
        quantities = [
            {
                "key": key,
                "inventory_item_id": items[key[1]],
                "location_id": location_ids[key[0]],
                "quantity": quantity,
                "previous": previous,
            }
            for key, quantity, previous in changes
        ]
        sent, errors = {}, []
        reference = f"gid://odoo/integration.message/{message.id}"
        Product = self.env["product.product"]
        for chunk in graphql.chunked(quantities, graphql.MAX_SET_QUANTITIES):
            pending = chunk
            for _round in range(MAX_ROUNDS):
                result = backend._shopify_graphql(
                    graphql.INVENTORY_SET_QUANTITIES,
                    graphql.inventory_set_input(
                        pending, backend.shopify_stock_reason or "correction", reference
                    ),
                    "shopify.inventory.set",
                )["inventorySetQuantities"] or {"userErrors": []}
                user_errors = result.get("userErrors") or []
                if not user_errors:
                    sent.update({q["key"]: q["quantity"] for q in pending})
                    pending = []
                    break
                stale = graphql.stale_indexes(user_errors)
                rejected = {}
                for error in user_errors:
                    if error.get("code") in (
                        "CHANGE_FROM_QUANTITY_STALE",
                        "COMPARE_QUANTITY_STALE",
                    ):
                        continue
                    index = next(
                        (int(p) for p in error.get("field") or [] if str(p).isdigit()),
                        None,
                    )
                    if index is None:
                        errors.append(
                            _("Shopify refused a stock batch: %s", error.get("message"))
                        )
                        pending = []
                        break
                    rejected[index] = error.get("message") or error.get("code")
                for index, text in rejected.items():
                    entry = pending[index]
                    errors.append(
                        _(
                            "%(sku)s at %(location)s: %(error)s",
                            sku=Product.browse(entry["key"][1]).default_code,
                            location=names[entry["key"][0]],
                            error=text,
                        )
                    )
                if stale:
                    current = self._current_quantities(
                        backend, [pending[i] for i in stale]
                    )
                    for index in stale:
                        entry = pending[index]
                        entry["previous"] = current.get(
                            (str(entry["inventory_item_id"]), entry["location_id"])
                        )
                pending = [q for i, q in enumerate(pending) if i not in rejected]
                if not pending:
                    break
            if pending:
                # still racing with Shopify: the next batch tries again
                self.env["integration.outbox"]._record(
                    "stock_level",
                    Product.browse(sorted({q["key"][1] for q in pending})),
                    backends=backend,
                )
                errors.append(
                    _(
                        "%s quantity(ies) changed in Shopify while they were sent: "
                        "queued for the next batch.",
                        len(pending),
                    )
                )
        return sent, errors

    def _remember(self, backend, sent):
        if not sent:
            return
        self.env.flush_all()
        rows = [(backend.id, loc, product, qty) for (loc, product), qty in sent.items()]
        for chunk in graphql.chunked(rows, 1000):
            self.env.cr.execute(
                """
                INSERT INTO shopify_inventory_level
                       (backend_id, company_id, location_id, product_id, quantity,
                        synced_at, create_uid, write_uid, create_date, write_date)
                SELECT b, %s, l, p, q, now() at time zone 'UTC', %s, %s,
                       now() at time zone 'UTC', now() at time zone 'UTC'
                  FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[])
                       AS t(b, l, p, q)
                ON CONFLICT (location_id, product_id) DO UPDATE
                   SET quantity = EXCLUDED.quantity, synced_at = EXCLUDED.synced_at,
                       write_date = EXCLUDED.write_date
                """,
                (
                    backend.company_id.id,
                    self.env.uid,
                    self.env.uid,
                    [r[0] for r in chunk],
                    [r[1] for r in chunk],
                    [r[2] for r in chunk],
                    [r[3] for r in chunk],
                ),
            )
        self.env["shopify.inventory.level"].invalidate_model()
