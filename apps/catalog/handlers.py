"""Reactions of the catalog context to other contexts' events (registered with nexuscart.consumers.event_handler)."""
