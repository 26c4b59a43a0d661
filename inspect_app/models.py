"""Import every area's models so that SQLAlchemy's metadata (and Alembic) sees all tables."""
from .audit.models import AuditEvent, AuditHead  # noqa: F401
from .auth.models import ApiToken, User, UserRole  # noqa: F401
from .api.models import IdempotencyKey  # noqa: F401
from .registry.models import BlacklistEntry, Entity, EntryCheck, Licence, SensitiveSite, StatusChange  # noqa: F401
