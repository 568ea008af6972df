from typing import Any

import psycopg
from django.db.backends.postgresql import operations


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        """As Django's, and for a statement already numbered ``$1``… (which psycopg cannot
        render with its values) the statement itself: query logging sees every path."""
        try:
            return super().last_executed_query(cursor, sql, params)
        except psycopg.ProgrammingError:
            return sql
