"""Shared kernel of NexusCart: imports nothing from apps/ or config/."""
