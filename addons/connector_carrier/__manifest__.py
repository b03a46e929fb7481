{
    "name": "Carrier Connector",
    "summary": "Labels and tracking through an EasyPost-compatible carrier API: "
    "labels bought exactly once, tracking timeline and proof of delivery by "
    "webhook, cancel that voids, invoicing on delivery, failures on the desk",
    "version": "17.0.1.1.1",
    "category": "Inventory/Delivery",
    "website": "https://github.com/integration-suite/odoo-integration-suite",
    "author": "Integration Suite",
    "license": "LGPL-3",
    "depends": ["integration_core", "stock_delivery"],
    "external_dependencies": {"python": ["requests"]},
    "data": [
        "security/connector_carrier_security.xml",
        "security/ir.model.access.csv",
        "data/queue_job_data.xml",
        "data/integration_message_type_data.xml",
        "views/carrier_shipment_views.xml",
        "views/delivery_carrier_views.xml",
        "views/integration_backend_views.xml",
        "views/stock_picking_views.xml",
        "views/report_deliveryslip.xml",
        "views/connector_carrier_menus.xml",
    ],
    "demo": ["demo/carrier_demo.xml"],
}
