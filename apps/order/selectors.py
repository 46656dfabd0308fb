"""Read queries of the order context, for its own views and for other contexts."""
