"""The platform's user roles for commands and pages that name them without loading SQLAlchemy
(defined once, with the users' table, in ``resynergy.store.roles``)."""

from resynergy.store.roles import ROLES

__all__ = ["ROLES"]
