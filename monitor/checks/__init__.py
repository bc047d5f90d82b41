"""One module per provider, and the small base they share."""
