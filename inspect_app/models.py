"""Import every area's models so that SQLAlchemy's metadata (and Alembic) sees all tables."""
from .audit.models import AuditEvent, AuditHead  # noqa: F401
from .auth.models import ApiToken, User, UserRole  # noqa: F401
from .api.models import IdempotencyKey  # noqa: F401
from .registry.models import BlacklistEntry, Entity, EntryCheck, Licence, SensitiveSite, StatusChange  # noqa: F401
from .registry.imports import ImportJob  # noqa: F401
from .inspection.models import Inspection, InspectionMember  # noqa: F401
from .planning.models import Campaign, Draw, InspectorConflict, InspectorLeave  # noqa: F401
from .checklist.models import ChecklistVersion, ViolationCatalogueVersion  # noqa: F401
from .cases.models import Case, CaseEvent, CaseOfficer, TipOff, TipOffPhoto  # noqa: F401
from .notices.models import DepartmentSeal, Notice, NoticeBatch, NoticeCounter  # noqa: F401
