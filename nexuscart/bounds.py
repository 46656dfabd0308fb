"""Upper bounds of the database's integer columns, for API input validation.

An unbounded serializer integer reaches PostgreSQL as "integer out of range" (a 500); bounding
each input to its column turns that into a 400 with the field named (issue 13 #8).
"""

INT_MAX = 2**31 - 1  # integer / PositiveIntegerField
BIGINT_MAX = 2**63 - 1  # bigint / BigIntegerField, snowflake ids
# Lists and strings have their own limits at each serializer; this is the default list length.
LIST_MAX = 100

__all__ = ["BIGINT_MAX", "INT_MAX", "LIST_MAX"]
