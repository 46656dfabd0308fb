"""Write entry points of the user context: keyword-only, typed, one transaction, events to the outbox."""
