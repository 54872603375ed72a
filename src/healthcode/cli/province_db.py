"""What the ``healthcode province`` command groups share: the province's settings from the
``HEALTHCODE_PROVINCE_*`` variables and its database, migrated. The database layer is imported
inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

if TYPE_CHECKING:
    from healthcode.config import ProvinceSettings
    from healthcode.store.db import Database

__all__ = ["migrated", "settings"]


def settings(**overrides: Any) -> ProvinceSettings:
    from healthcode.config import ProvinceSettings

    return ProvinceSettings.from_env(**overrides)


def migrated(settings: ProvinceSettings) -> Database:
    """The province's database, upgraded. Raises InvalidInput DATABASE_UNAVAILABLE."""
    from sqlalchemy.exc import SQLAlchemyError

    from healthcode.province.schema import upgrade
    from healthcode.province.service import LOOP_THREADS
    from healthcode.store.db import Database

    try:
        db = Database.from_url(
            settings.database_url,
            busy_seconds=settings.database_busy_seconds,
            threads=settings.worker_threads + LOOP_THREADS,
        )
        upgrade(db)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise InvalidInput(
            ErrorCode.DATABASE_UNAVAILABLE,
            f"cannot open the province's database (HEALTHCODE_PROVINCE_DATABASE_URL): {reason}",
        ) from exc
    return db
