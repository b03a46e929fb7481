from urllib.parse import urlsplit

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .integration_backend import WEBHOOK_BASE_URL_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    integration_webhook_base_url = fields.Char(
        "Webhook base URL",
        config_parameter=WEBHOOK_BASE_URL_PARAM,
        help="How external systems reach this Odoo, e.g. https://odoo.example.com "
        "(or http://odoo:8069 inside a Docker network). Every backend's webhook "
        "URL starts with it; empty: the web address of this database.",
    )

    @api.constrains("integration_webhook_base_url")
    def _check_integration_webhook_base_url(self):
        for settings in self:
            url = (settings.integration_webhook_base_url or "").strip()
            if not url:
                continue
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValidationError(
                    _(
                        "The webhook base URL must be a web address such as "
                        "https://odoo.example.com, not %(url)s.",
                        url=url,
                    )
                )
            if parts.query or parts.fragment:
                raise ValidationError(
                    _(
                        "The webhook base URL is the start of an address: leave "
                        "out what follows '?' or '#' in %(url)s.",
                        url=url,
                    )
                )
