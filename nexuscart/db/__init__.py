"""NexusCart's PostgreSQL backend (ENGINE "nexuscart.db"): django-prometheus's, plus a read timeout."""
