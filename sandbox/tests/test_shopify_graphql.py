"""Admin GraphQL: orders query, inventory, fulfillments, throttling."""

from .conftest import ORDER_SPEC

ORDERS_QUERY = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges {
      cursor
      node {
        id legacyResourceId name createdAt updatedAt cancelledAt
        displayFinancialStatus currencyCode taxesIncluded
        totalPriceSet { shopMoney { amount currencyCode } }
        customer { id email firstName lastName }
        shippingAddress { city countryCodeV2 }
        lineItems(first: 10) {
          nodes {
            sku quantity
            originalUnitPriceSet { shopMoney { amount } }
            taxLines { title rate priceSet { shopMoney { amount } } }
            discountAllocations { allocatedAmountSet { shopMoney { amount } } }
          }
        }
        shippingLines(first: 5) {
          nodes { title code originalPriceSet { shopMoney { amount } } }
        }
        refunds { id }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def test_orders_query_pagination_and_updated_at_filter(shop):
    ids = []
    for day in range(1, 6):
        spec = dict(ORDER_SPEC, created_at=f"2026-02-0{day}T08:00:00Z")
        ids.append(shop.create_order(spec)["id"])
    seen = []
    after = None
    pages = 0
    while True:
        body = shop.graphql(ORDERS_QUERY, {"first": 2, "after": after})
        assert "errors" not in body, body
        conn = body["data"]["orders"]
        seen += [int(e["node"]["legacyResourceId"]) for e in conn["edges"]]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert pages == 3 and seen == ids
    node = body["data"]["orders"]["edges"][-1]["node"]
    assert node["id"] == f"gid://shopify/Order/{ids[-1]}"
    assert node["totalPriceSet"]["shopMoney"] == {
        "amount": "30.25",
        "currencyCode": "EUR",
    }
    assert node["updatedAt"] == "2026-02-05T08:00:00Z"
    assert node["displayFinancialStatus"] == "PAID"
    assert node["customer"]["email"] == "ann@example.com"
    assert node["shippingAddress"]["countryCodeV2"] == "BE"
    line = node["lineItems"]["nodes"][0]
    assert line["sku"] == "TSHIRT-RED-XL"
    assert line["taxLines"] == [
        {"title": "VAT", "rate": 0.21, "priceSet": {"shopMoney": {"amount": "1.40"}}}
    ]
    assert line["discountAllocations"][0]["allocatedAmountSet"]["shopMoney"] == {
        "amount": "3.34"
    }
    assert node["shippingLines"]["nodes"][0]["code"] == "STD"

    shop.update_order(ids[1], note="edited", updated_at="2026-03-01T12:00:00Z")
    body = shop.graphql(
        ORDERS_QUERY, {"first": 5, "query": "updated_at:>='2026-02-04T00:00:00Z'"}
    )
    got = [int(e["node"]["legacyResourceId"]) for e in body["data"]["orders"]["edges"]]
    assert got == [ids[3], ids[4], ids[1]]  # sorted by updatedAt
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] >= cost["actualQueryCost"] > 0


def test_order_cancel_and_refund_visible_in_graphql(shop):
    order = shop.create_order(ORDER_SPEC)
    shop.cancel_order(order["id"], reason="customer")
    body = shop.graphql(
        "query($id: ID!) { order(id: $id) { cancelledAt cancelReason "
        "displayFinancialStatus totalRefundedSet { shopMoney { amount } } "
        "refunds { refundLineItems(first: 5) { nodes { quantity restockType "
        "lineItem { sku } } } } } }",
        {"id": f"gid://shopify/Order/{order['id']}"},
    )
    data = body["data"]["order"]
    assert data["cancelledAt"] and data["cancelReason"] == "CUSTOMER"
    assert data["displayFinancialStatus"] == "REFUNDED"
    assert data["totalRefundedSet"]["shopMoney"]["amount"] == "30.25"
    rlis = data["refunds"][0]["refundLineItems"]["nodes"]
    assert {r["restockType"] for r in rlis} == {"CANCEL"}


def _seed_stock(shop, skus, qty=10):
    shop.client._call(
        "POST",
        f"/_control/shopify/shops/{shop.shop}/products",
        json={
            "products": [
                {
                    "title": sku,
                    "variants": [{"sku": sku, "price": "5.00", "inventory": qty}],
                }
                for sku in skus
            ]
        },
    )


VARIANTS_QUERY = """
query($q: String!) {
  productVariants(first: 50, query: $q) {
    nodes { sku inventoryItem { id inventoryLevel(locationId: "%s") {
      quantities(names: ["available", "on_hand", "committed"]) { name quantity } } } }
  }
  locations(first: 5) { nodes { id name } }
}
"""

SET_MUTATION = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange
      item { sku } } }
    userErrors { code field message }
  }
}
"""


def test_inventory_set_quantities(shop):
    _seed_stock(shop, ["SKU-1", "SKU-2"])
    location = shop.locations()[0]["admin_graphql_api_id"]
    body = shop.graphql(VARIANTS_QUERY % location, {"q": "sku:SKU-1 OR sku:SKU-2"})
    variants = {v["sku"]: v for v in body["data"]["productVariants"]["nodes"]}
    assert set(variants) == {"SKU-1", "SKU-2"}
    level = variants["SKU-1"]["inventoryItem"]["inventoryLevel"]["quantities"]
    assert {q["name"]: q["quantity"] for q in level}["available"] == 10
    item1 = variants["SKU-1"]["inventoryItem"]["id"]
    item2 = variants["SKU-2"]["inventoryItem"]["id"]

    def run(quantities, version="2026-07", **extra):
        payload = {
            "name": "available",
            "reason": "correction",
            "quantities": quantities,
        }
        payload.update(extra)
        return shop.graphql(SET_MUTATION, {"input": payload}, version=version)

    ok = run(
        [
            {
                "inventoryItemId": item1,
                "locationId": location,
                "quantity": 7,
                "changeFromQuantity": 10,
            },
            {
                "inventoryItemId": item2,
                "locationId": location,
                "quantity": 3,
                "changeFromQuantity": None,
            },
        ],
        referenceDocumentUri="gid://odoo/StockQuant/1",
    )
    result = ok["data"]["inventorySetQuantities"]
    assert result["userErrors"] == []
    changes = result["inventoryAdjustmentGroup"]["changes"]
    assert {
        "name": "available",
        "delta": -3,
        "quantityAfterChange": 7,
        "item": {"sku": "SKU-1"},
    } in changes
    assert [lvl["available"] for lvl in shop.inventory(sku="SKU-1")] == [7]

    stale = run(
        [
            {
                "inventoryItemId": item1,
                "locationId": location,
                "quantity": 1,
                "changeFromQuantity": 10,
            }
        ]
    )["data"]["inventorySetQuantities"]
    assert stale["inventoryAdjustmentGroup"] is None
    assert stale["userErrors"][0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
    assert stale["userErrors"][0]["field"] == [
        "input",
        "quantities",
        "0",
        "changeFromQuantity",
    ]
    # legacy compare-and-set (pre 2026-04 clients), all-or-nothing
    legacy = run(
        [
            {
                "inventoryItemId": item2,
                "locationId": location,
                "quantity": 9,
                "compareQuantity": 3,
            },
            {
                "inventoryItemId": item1,
                "locationId": location,
                "quantity": 9,
                "compareQuantity": 99,
            },
        ],
        version="2025-01",
    )["data"]["inventorySetQuantities"]
    assert [e["code"] for e in legacy["userErrors"]] == ["COMPARE_QUANTITY_STALE"]
    assert shop.inventory(sku="SKU-2")[0]["available"] == 3  # nothing applied
    ignored = run(
        [{"inventoryItemId": item1, "locationId": location, "quantity": 9}],
        version="2025-01",
        ignoreCompareQuantity=True,
    )["data"]["inventorySetQuantities"]
    assert ignored["userErrors"] == []
    missing = run([{"inventoryItemId": item1, "locationId": location, "quantity": 9}])[
        "data"
    ]["inventorySetQuantities"]
    assert missing["userErrors"][0]["code"] == "COMPARE_QUANTITY_REQUIRED"
    unknown = run(
        [
            {
                "inventoryItemId": "gid://shopify/InventoryItem/1",
                "locationId": location,
                "quantity": 1,
                "changeFromQuantity": None,
            }
        ]
    )["data"]["inventorySetQuantities"]
    assert unknown["userErrors"][0]["code"] == "INVALID_INVENTORY_ITEM"
    log = shop.inventory_changes(source="graphql")
    assert [(c["sku"], c["delta"], c["quantity_after"]) for c in log] == [
        ("SKU-1", -3, 7),
        ("SKU-2", -7, 3),
        ("SKU-1", 2, 9),
    ]
    assert log[0]["reference_document_uri"] == "gid://odoo/StockQuant/1"


def test_inventory_set_quantities_250_limit(shop):
    skus = [f"BULK-{n:03d}" for n in range(251)]
    _seed_stock(shop, skus, qty=1)
    location = shop.locations()[0]["admin_graphql_api_id"]
    items = [lvl["inventory_item_gid"] for lvl in shop.inventory()]
    assert len(items) == 251
    quantities = [
        {
            "inventoryItemId": i,
            "locationId": location,
            "quantity": 5,
            "changeFromQuantity": None,
        }
        for i in items
    ]
    payload = {"name": "available", "reason": "correction", "quantities": quantities}
    too_many = shop.graphql(SET_MUTATION, {"input": payload})
    assert too_many["data"]["inventorySetQuantities"] is None
    assert too_many["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert "251" in too_many["errors"][0]["message"]
    payload["quantities"] = quantities[:250]
    ok = shop.graphql(SET_MUTATION, {"input": payload})
    assert ok["data"]["inventorySetQuantities"]["userErrors"] == []
    assert sum(lvl["available"] == 5 for lvl in shop.inventory()) == 250


FO_QUERY = """
query($id: ID!) {
  order(id: $id) {
    displayFulfillmentStatus
    fulfillmentOrders(first: 5) {
      nodes { id status lineItems(first: 10) {
        nodes { id totalQuantity remainingQuantity lineItem { sku } } } }
    }
  }
}
"""

FULFILL = """
mutation($f: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $f) {
    fulfillment { id status name trackingInfo { number company url }
      fulfillmentLineItems(first: 5) { nodes { quantity lineItem { sku } } } }
    userErrors { field message }
  }
}
"""


def test_fulfillment_create_partial(shop):
    order = shop.create_order(
        {
            "lines": [
                {"sku": "BOX", "quantity": 3, "price": "4.00"},
                {"sku": "LID", "quantity": 1, "price": "1.00"},
            ]
        }
    )
    gid = f"gid://shopify/Order/{order['id']}"
    fo = shop.graphql(FO_QUERY, {"id": gid})["data"]["order"]["fulfillmentOrders"][
        "nodes"
    ][0]
    assert fo["status"] == "OPEN"
    box = next(li for li in fo["lineItems"]["nodes"] if li["lineItem"]["sku"] == "BOX")
    result = shop.graphql(
        FULFILL,
        {
            "f": {
                "lineItemsByFulfillmentOrder": [
                    {
                        "fulfillmentOrderId": fo["id"],
                        "fulfillmentOrderLineItems": [{"id": box["id"], "quantity": 2}],
                    }
                ],
                "trackingInfo": {
                    "number": "1Z999",
                    "company": "UPS",
                    "url": "https://ups.test/1Z999",
                },
                "notifyCustomer": False,
            }
        },
    )["data"]["fulfillmentCreate"]
    assert result["userErrors"] == []
    assert result["fulfillment"]["status"] == "SUCCESS"
    assert result["fulfillment"]["trackingInfo"] == [
        {"number": "1Z999", "company": "UPS", "url": "https://ups.test/1Z999"}
    ]
    data = shop.graphql(FO_QUERY, {"id": gid})["data"]["order"]
    assert data["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED"
    fo = data["fulfillmentOrders"]["nodes"][0]
    assert fo["status"] == "IN_PROGRESS"
    remaining = {
        li["lineItem"]["sku"]: li["remainingQuantity"]
        for li in fo["lineItems"]["nodes"]
    }
    assert remaining == {"BOX": 1, "LID": 1}
    rest = shop.order(order["id"])
    assert rest["fulfillment_status"] == "partial"
    pushed = shop.fulfillments(order_id=order["id"])
    assert pushed[0]["tracking_number"] == "1Z999"
    assert [(li["sku"], li["quantity"]) for li in pushed[0]["line_items"]] == [
        ("BOX", 2)
    ]
    too_much = shop.graphql(
        FULFILL,
        {
            "f": {
                "lineItemsByFulfillmentOrder": [
                    {
                        "fulfillmentOrderId": fo["id"],
                        "fulfillmentOrderLineItems": [{"id": box["id"], "quantity": 2}],
                    }
                ]
            }
        },
    )["data"]["fulfillmentCreate"]
    assert too_much["fulfillment"] is None
    assert "quantity" in too_much["userErrors"][0]["message"]
    rest_of_it = shop.graphql(
        FULFILL,
        {"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo["id"]}]}},
    )["data"]["fulfillmentCreate"]
    assert rest_of_it["userErrors"] == []
    data = shop.graphql(FO_QUERY, {"id": gid})["data"]["order"]
    assert data["displayFulfillmentStatus"] == "FULFILLED"
    assert data["fulfillmentOrders"]["nodes"][0]["status"] == "CLOSED"
    assert shop.order(order["id"])["fulfillment_status"] == "fulfilled"


def test_throttling_and_cost(shop):
    body = shop.graphql("{ shop { name } locations(first: 10) { nodes { id } } }")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 + 2 + 10
    assert cost["actualQueryCost"] == 1 + 2 + 1
    assert cost["throttleStatus"] == {
        "maximumAvailable": 1000.0,
        "currentlyAvailable": cost["throttleStatus"]["currentlyAvailable"],
        "restoreRate": 50.0,
    }
    shop.configure(
        graphql_throttle={
            "maximum_available": 100,
            "restore_rate": 1,
            "currently_available": 5,
        }
    )
    throttled = shop.graphql("{ locations(first: 10) { nodes { id } } }")
    assert "data" not in throttled
    assert throttled["errors"][0]["message"] == "Throttled"
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    cost = throttled["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 12 and cost["actualQueryCost"] is None
    assert cost["throttleStatus"]["maximumAvailable"] == 100.0
    assert cost["throttleStatus"]["currentlyAvailable"] in (5, 6)
    assert cost["throttleStatus"]["restoreRate"] == 1.0
    assert shop.graphql("{ shop { name } }")["data"]["shop"]["name"] == "Demo"
    too_big = shop.graphql(
        "{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { sku } } } } }"
    )
    assert too_big["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_webhook_subscription_mutations(shop):
    created = shop.graphql(
        """mutation($t: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!) {
          webhookSubscriptionCreate(topic: $t, webhookSubscription: $s) {
            webhookSubscription { id topic uri format endpoint {
              __typename ... on WebhookHttpEndpoint { callbackUrl } } }
            userErrors { field message } } }""",
        {
            "t": "ORDERS_CREATE",
            "s": {"callbackUrl": "http://odoo.test/hook", "format": "JSON"},
        },
    )["data"]["webhookSubscriptionCreate"]
    sub = created["webhookSubscription"]
    assert created["userErrors"] == [] and sub["topic"] == "ORDERS_CREATE"
    assert sub["endpoint"] == {
        "__typename": "WebhookHttpEndpoint",
        "callbackUrl": "http://odoo.test/hook",
    }
    dup = shop.graphql(
        """mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE,
          webhookSubscription: {uri: "http://odoo.test/hook"}) {
          userErrors { message } } }"""
    )["data"]["webhookSubscriptionCreate"]
    assert "already been taken" in dup["userErrors"][0]["message"]
    listed = shop.graphql(
        "{ webhookSubscriptions(first: 10) { nodes { id topic uri } } }"
    )["data"]["webhookSubscriptions"]["nodes"]
    assert listed == [
        {"id": sub["id"], "topic": "ORDERS_CREATE", "uri": "http://odoo.test/hook"}
    ]
    deleted = shop.graphql(
        "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { "
        "deletedWebhookSubscriptionId userErrors { message } } }",
        {"id": sub["id"]},
    )["data"]["webhookSubscriptionDelete"]
    assert deleted["deletedWebhookSubscriptionId"] == sub["id"]
    assert shop.subscriptions() == []


def test_graphql_errors_are_200_with_errors(shop):
    body = shop.graphql("{ shop { nope } }")
    assert body["errors"][0]["message"].startswith("Cannot query field 'nope'")
    body = shop.graphql("{ orders { nodes { id } } }")
    assert "first or last" in body["errors"][0]["message"]
