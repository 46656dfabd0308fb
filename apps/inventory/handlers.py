"""Reactions of the inventory context to other contexts' events (registered with nexuscart.consumers.event_handler)."""
