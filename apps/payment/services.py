"""Write entry points of the payment context: keyword-only, typed, one transaction, events to the outbox."""
