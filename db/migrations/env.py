"""Alembic environment: plain SQL migrations run over psycopg against DATABASE_URL."""

from alembic import context
from sqlalchemy import create_engine, pool

from db.urls import sqlalchemy_url

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(sqlalchemy_url(config.get_main_option("sqlalchemy.url")), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
