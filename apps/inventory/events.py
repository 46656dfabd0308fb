"""Events the inventory context publishes (frozen dataclasses, versioned; see nexuscart.events)."""
