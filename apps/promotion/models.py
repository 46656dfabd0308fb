"""Tables of the promotion context. Other contexts refer to its rows by id only, never by foreign key."""
