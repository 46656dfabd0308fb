"""Write entry points of the inventory context: keyword-only, typed, one transaction, events to the outbox."""
