/** @odoo-module **/
/* A clerk of one company on the Overview: the card shows its business
   signals; the figure of records the clerk may not read is no link; a click
   on the other opens exactly the records it counts. */
import {registry} from "@web/core/registry";

registry.category("web_tour.tours").add("integration_core_business_signals", {
    test: true,
    url: "/web#action=integration_core.action_integration_overview",
    steps: () => [
        {
            content: "The figure of records the clerk may not open is no link",
            trigger:
                ".o_kanban_record:contains('A shop') li[data-signal=jobs] strong.o_integration_signal_count",
            isCheck: true,
        },
        {
            content: "Only company A's card is there",
            trigger: ".o_kanban_view:not(:has(.o_kanban_record:contains('B shop')))",
            isCheck: true,
        },
        {
            content: "Click the figure: 3 partners",
            trigger:
                ".o_kanban_record:contains('A shop') li[data-signal=partners] a.o_integration_signal_count:contains('3')",
        },
        {
            content: "The list shows the three records behind the figure",
            trigger:
                ".o_list_view:has(.o_data_row:eq(2)):not(:has(.o_data_row:eq(3)))",
            extra_trigger: ".o_breadcrumb:contains('A shop: partners made over 1 h ago')",
            isCheck: true,
        },
    ],
});
