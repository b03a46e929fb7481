from odoo import api, models

from ..exceptions import SkipMessage

# Quiet contact creation: no chatter per contact on the hot path.
QUIET = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
}
ADDRESS_KEY_FIELDS = ("name", "street", "street2", "city", "zip", "country_id")


class IntegrationPartnerResolver(models.AbstractModel):
    """Contacts from an external system without duplicates.

    A customer is found by its binding on the backend, then by email (a
    company-level contact of the backend's company, or shared), else created
    and bound; a returning customer never becomes a second partner. Its
    addresses are child contacts (invoice, delivery) found by address or
    created. What is written to a found partner is what the ``partner`` sync
    rule lets the external side write, and only what changed.
    """

    _name = "integration.partner.resolver"
    _description = "Integration partner resolver"

    @api.model
    def _resolve(
        self,
        backend,
        external_id,
        values,
        email=None,
        create_values=None,
        strict=False,
    ):
        """The partner of ``external_id`` (bound when it has an id).

        ``values`` are written to a found partner and used to create one,
        with ``create_values`` on top. ``strict``: the message is skipped
        (``SkipMessage``) when the partner flow is off or none of the values
        may be written (a contact feed); otherwise such values are left
        alone and the partner is still used (an order's customer).
        """
        Partner = self.env["res.partner"].with_context(**QUIET)
        Binding = self.env["integration.binding"]
        partner = Partner
        if external_id:
            partner = Binding._find(backend, "res.partner", external_id)
        if not partner and email:
            partner = Partner.search(
                [
                    ("email", "=ilike", email),
                    ("parent_id", "=", False),
                    ("company_id", "in", (False, backend.company_id.id)),
                ],
                order="id",
                limit=1,
            )
        if partner:
            self._update(backend, partner.with_context(**QUIET), values, strict)
        else:
            if strict:
                backend._check_flow("partner", "import")
            partner = Partner.create({**values, **(create_values or {})})
        if external_id and not Binding._binding_of(backend, partner):
            Binding._bind(backend, partner, external_id)
        return partner

    @api.model
    def _update(self, backend, partner, values, strict):
        try:
            writable = backend._check_writable("partner", "external", values)
        except SkipMessage:
            if strict:
                raise
            return
        changed = {
            name: value
            for name, value in writable.items()
            if self._as_written(partner, name) != (value or False)
        }
        if changed:
            partner.write(changed)

    @api.model
    def _as_written(self, record, name):
        field = record._fields[name]
        return field.convert_to_write(record[name], record) or False

    @api.model
    def _addresses(self, partner, addresses):
        """``[(type, values)]`` -> the child contacts of ``partner`` with
        those addresses (found by name, street, city, zip and country, or
        created in one go); an empty address is the partner itself."""
        found, to_create = {}, []
        for index, (kind, values) in enumerate(addresses):
            if not values:
                found[index] = partner
                continue
            key = self._address_key(values)
            child = next(
                (
                    c
                    for c in partner.child_ids
                    if c.type == kind and self._address_key(c) == key
                ),
                None,
            )
            if child:
                found[index] = child
                continue
            values = {**values, "parent_id": partner.id, "type": kind}
            if not values.get("name"):
                values["name"] = partner.name
            to_create.append((index, values))
        if to_create:
            children = (
                self.env["res.partner"]
                .with_context(**QUIET)
                .create([values for _index, values in to_create])
            )
            found.update(zip([index for index, _v in to_create], children))
        return [found[index] for index in range(len(addresses))]

    @api.model
    def _address_key(self, values):
        def text(value):
            if isinstance(value, models.BaseModel):
                return value.id
            return (value or "").strip().lower() if isinstance(value, str) else value

        return tuple(text(values[field]) for field in ADDRESS_KEY_FIELDS)
