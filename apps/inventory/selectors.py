"""Read queries of the inventory context, for its own views and for other contexts."""
