/** @odoo-module **/
/* A clerk with the desk group only fixes an order whose SKU Odoo does not
   know: from the opened item, two clicks, and the item shows the confirmed
   order. */
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("connector_shopify_desk_clerk", {
    test: true,
    url: "/web#action=integration_core.action_integration_exceptions",
    steps: () => [
        {
            content: "Open the item (the list shows it at once, not in groups)",
            trigger: ".o_data_row:contains('HOODIE-GREY-M') td.o_data_cell:first",
        },
        {
            content: "The item leads with the order's summary, the line marked",
            trigger: ".o_form_view .o_field_widget[name=summary_html] tr.table-danger:contains('HOODIE-GREY-M')",
            isCheck: true,
        },
        {
            content: "Click 1: Map and retry",
            trigger: ".o_form_view .o_statusbar_buttons button:contains('Map and retry')",
        },
        {
            content: "The kind says what is chosen: a product, already proposed",
            trigger:
                ".modal .o_field_widget[name=product_id] input:propValueContains(Hoodie grey M)",
            isCheck: true,
        },
        {
            content: "Click 2: Map and retry",
            trigger: ".modal-footer button:contains('Map and retry')",
        },
        {
            content: "A notification says what came of it",
            trigger: ".o_notification:contains('done')",
            isCheck: true,
        },
        {
            content: "The form shows the new state and the confirmed order",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Done')",
            extra_trigger: ".o_form_view .o_field_widget[name=summary_html]:contains('Sales Order')",
            isCheck: true,
        },
    ],
});
