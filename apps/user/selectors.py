"""Read queries of the user context, for its own views and for other contexts."""
