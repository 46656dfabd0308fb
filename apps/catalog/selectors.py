"""Read queries of the catalog context, for its own views and for other contexts."""
