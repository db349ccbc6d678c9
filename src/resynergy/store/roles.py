"""The platform's user roles: plain data, so that commands can name them without SQLAlchemy."""

ROLES: tuple[str, ...] = ("admin", "planner", "regulator", "evaluator", "enterprise", "public")
