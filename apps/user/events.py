"""Events the user context publishes (frozen dataclasses, versioned; see nexuscart.events)."""
