"""Store: the database schema, migrations, sessions and the content-addressed file store."""
