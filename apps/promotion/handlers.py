"""Reactions of the promotion context to other contexts' events (registered with nexuscart.consumers.event_handler)."""
