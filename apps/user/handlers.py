"""Reactions of the user context to other contexts' events (registered with nexuscart.consumers.event_handler)."""
