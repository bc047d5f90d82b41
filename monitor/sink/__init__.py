"""The status sink (contract §8.7): every organization's status and state changes, written to
PostgreSQL so the platform's own application can read them, whichever shard checked them.

`schema` holds the tables as versioned migrations and `migrate` applies them; `buffer` keeps
what waits to be written (the latest per key, a bounded list of changes); `statements` holds the
SQL of one batch; `writer` runs the background loop; `build` puts it together from the settings.
"""
