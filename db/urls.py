"""The one database URL in libpq form, adapted for the drivers that need another spelling."""


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy (alembic) talks psycopg 3; asyncpg takes the libpq URL as it is."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
