"""Write entry points of the order context: keyword-only, typed, one transaction, events to the outbox."""
