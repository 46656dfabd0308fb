"""Read queries of the promotion context, for its own views and for other contexts."""
