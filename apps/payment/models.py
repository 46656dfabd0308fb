"""Tables of the payment context. Other contexts refer to its rows by id only, never by foreign key."""
