"""Write entry points of the catalog context: keyword-only, typed, one transaction, events to the outbox."""
