"""Events the catalog context publishes (frozen dataclasses, versioned; see nexuscart.events)."""
