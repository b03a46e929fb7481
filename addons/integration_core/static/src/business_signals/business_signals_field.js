/** @odoo-module **/
/* The business signals of an Overview card: each figure opens the records
   behind it (integration.backend.action_open_business_signal), or, for a
   user without rights on those records, says so in its tooltip. */

import {Component} from "@odoo/owl";
import {registry} from "@web/core/registry";
import {standardFieldProps} from "@web/views/fields/standard_field_props";
import {useService} from "@web/core/utils/hooks";

export class BusinessSignalsField extends Component {
    static template = "integration_core.BusinessSignalsField";
    static props = {...standardFieldProps};

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
    }

    get signals() {
        return this.props.record.data[this.props.name] || [];
    }

    title(signal) {
        if (!signal.model) {
            return signal.help || "";
        }
        if (!signal.can_open) {
            return `You need rights on ${signal.model_name} to open these.`;
        }
        return signal.help || `Open the ${signal.model_name} behind this figure`;
    }

    async open(signal) {
        const action = await this.orm.call(
            "integration.backend",
            "action_open_business_signal",
            [[this.props.record.resId], signal.key]
        );
        await this.action.doAction(action);
    }
}

registry.category("fields").add("integration_business_signals", {
    component: BusinessSignalsField,
    supportedTypes: ["json"],
});
