"""Events the order context publishes (frozen dataclasses, versioned; see nexuscart.events)."""
