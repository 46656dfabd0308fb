"""Events the promotion context publishes (frozen dataclasses, versioned; see nexuscart.events)."""
