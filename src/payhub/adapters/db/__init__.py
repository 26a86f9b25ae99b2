"""Storage: tables, repositories and the unit of work over SQLAlchemy (SQLite embedded, PostgreSQL in production)."""
