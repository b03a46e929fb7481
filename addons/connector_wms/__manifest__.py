{
    "name": "WMS Connector",
    "summary": "Delivery orders released to a warehouse system once reserved, "
    "shipments and receipts confirmed back exactly once, stock reconciled by "
    "system of record, on a documented JSON contract",
    "version": "17.0.1.1.1",
    "category": "Inventory/Inventory",
    "website": "https://github.com/integration-suite/odoo-integration-suite",
    "author": "Integration Suite",
    "license": "LGPL-3",
    "depends": ["integration_core", "stock", "sale_stock"],
    "external_dependencies": {"python": ["jsonschema", "requests"]},
    "data": [
        "security/connector_wms_security.xml",
        "security/ir.model.access.csv",
        "data/queue_job_data.xml",
        "data/integration_message_type_data.xml",
        "views/integration_backend_views.xml",
        "views/stock_picking_views.xml",
        "views/wms_shipment_views.xml",
        "views/wms_stock_difference_views.xml",
        "views/connector_wms_menus.xml",
    ],
    "demo": ["demo/wms_demo.xml"],
}
