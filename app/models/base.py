"""What every tenant-owned table has in common.

``organization_id`` is NOT NULL and ``(organization_id, id)`` is unique so that other tenant
rows can reference it with a composite foreign key: a row can never point into another
school. The ORM relationships join on the single id (FAB supports only single-column
relations); the composite constraint in the database is what guarantees the school matches.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class TenantOwned:
    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def organization_id(cls) -> Mapped[int]:
        return mapped_column(
            sa.ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=False, index=True
        )


def tenant_fk(columns: list[str], target_table: str, ondelete: str = "RESTRICT"):
    """A composite foreign key ``(organization_id, <col>) -> target(organization_id, id)``."""
    return sa.ForeignKeyConstraint(
        ["organization_id", *columns],
        [f"{target_table}.organization_id", f"{target_table}.id"],
        ondelete=ondelete,
    )


def tenant_unique_id(table: str):
    return sa.UniqueConstraint("organization_id", "id", name=f"uq_{table}_org_id")
