"""Events the payment context publishes (frozen dataclasses, versioned; see nexuscart.events)."""
