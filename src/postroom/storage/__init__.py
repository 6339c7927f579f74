"""Storage: SQLAlchemy 2 Core tables, repositories, the blob store, Alembic migrations."""
