"""Reactions of the payment context to other contexts' events (registered with nexuscart.consumers.event_handler)."""
