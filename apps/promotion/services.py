"""Write entry points of the promotion context: keyword-only, typed, one transaction, events to the outbox."""
