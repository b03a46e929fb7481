"""Test helpers for business signals, shared by the connectors' tests: the
figure a backend's Overview card shows, and the records its click opens,
which must be the same records."""


class BusinessSignalAssertions:
    """Mix into a TransactionCase / HttpCase."""

    def signal_rows(self, backend, user=None):
        """``{key: row}`` of the backend's card, as ``user`` sees it."""
        backend = backend.with_user(user) if user else backend
        return {row["key"]: row for row in backend._business_signal_rows()}

    def signal_count(self, backend, key, user=None):
        return self.signal_rows(backend, user)[key]["count"]

    def open_signal(self, backend, key, user=None):
        """The records a click on the figure opens (the action's domain, in
        the user's environment), after checking that they are as many as
        the figure says."""
        row = self.signal_rows(backend, user)[key]
        backend = backend.with_user(user) if user else backend
        action = backend.action_open_business_signal(key)
        self.assertEqual(action["res_model"], row["model"])
        Model = self.env[action["res_model"]]
        if user:
            Model = Model.with_user(user)
        records = Model.with_context(**action.get("context", {})).search(
            action["domain"]
        )
        self.assertEqual(
            len(records),
            row["count"],
            f"{key}: the figure says {row['count']}, the list opens {len(records)}",
        )
        return records
