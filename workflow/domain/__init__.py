"""The domain: events and upcasting, validation, the projection's rules, the table's items. No AWS SDK here."""
