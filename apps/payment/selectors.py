"""Read queries of the payment context, for its own views and for other contexts."""
