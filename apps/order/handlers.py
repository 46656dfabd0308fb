"""Reactions of the order context to other contexts' events (registered with nexuscart.consumers.event_handler)."""
