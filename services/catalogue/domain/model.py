"""A submitted project ("aangemeld project"), its dossier, its lifecycle and its adoption by labs."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime

from catalogue.domain import adoption as pooling
from catalogue.domain.adoption import Measurement, SiteView
from catalogue.domain.errors import CatalogueConflict, SubmitterKeyMissing, SubmitterKeyRejected, UnknownLab
from catalogue.domain.rating import Rating, RatingStatus

# Roles that judge dossiers and so may read an unlisted one in full (operator may do everything).
READERS_OF_DOSSIERS = frozenset({"operator", "board", "assessor"})


class ProjectStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    PROVEN = "proven"
    REJECTED = "rejected"
    NEEDS_INFORMATION = "needs_information"
    WITHDRAWN = "withdrawn"


class Verdict(enum.StrEnum):
    """The portfolio board's decision on one revision of a dossier."""

    PROVEN = "proven"
    REJECTED = "rejected"
    NEEDS_INFORMATION = "needs_information"


@dataclass(frozen=True)
class Contact:
    """The submitter's contact person: personal data, kept only in the catalogue."""

    name: str
    email: str


@dataclass(frozen=True)
class Dossier:
    """Everything public about a project as submitted; field meanings as in the ProjectSubmitted contract."""

    name: str
    summary: str
    problem: str
    target_group: str
    phases: tuple[str, ...]
    themes: tuple[str, ...]
    origin: dict
    partners: tuple[dict, ...]
    in_production: bool
    clients_served: int
    results: str
    evidence_urls: tuple[str, ...]
    continuity_model: str
    availability: str

    def fields(self) -> dict:
        """The dossier's fields by name, for records, rows and answers made from it.

        Shallow, unlike dataclasses.asdict, which deep-copies every partner: about a tenth of a submission's Python
        time in a profile (issue 13). Every use only reads them (serialises them, or validates them into a model).
        """
        return dict(self.__dict__)

    @property
    def lab_id(self) -> str | None:
        """The local lab that developed the project, if one did."""
        lab_id = self.origin.get("lab_id")
        return str(lab_id) if lab_id else None


@dataclass(frozen=True)
class VerdictRecord:
    """One verdict as received; `applied` tells whether it set the project's status."""

    assessment_id: uuid.UUID
    revision: int
    verdict: Verdict
    rationale: str
    decided_at: datetime
    applied: bool


@dataclass(frozen=True)
class Implementation:
    """A lab implementing the project ("implementatie"); closed once handed over to regular operations."""

    implementation_id: uuid.UUID
    lab_id: uuid.UUID
    municipalities: tuple[str, ...]
    handed_over_at: datetime | None = None
    # The latest ImplementationStageChanged (SPEC 5.3); None until one arrived.
    stage: str | None = None
    status: str | None = None
    reason: str | None = None
    changed_at: datetime | None = None

    @property
    def is_stopped(self) -> bool:
        return self.status == pooling.STOPPED and self.handed_over_at is None

    def site(self) -> SiteView:
        # Before any stage change: adoption starts in exploration, and a handover means sustainment.
        stage = self.stage or (pooling.HANDED_OVER_STAGE if self.handed_over_at else pooling.FIRST_STAGE)
        return SiteView(self.implementation_id, self.lab_id, self.municipalities, stage, self.status, self.reason,
                        self.changed_at, self.handed_over_at is not None or self.status == pooling.HANDED_OVER)


def issue_submitter_key() -> tuple[str, bytes]:
    """A new submitter's key: the secret for the submitter once, and the digest the catalogue keeps.

    The project id is not secret (it travels in events, webhooks and the feed); this key is what
    proves that a request comes from whoever submitted the project.
    """
    key = secrets.token_urlsafe(32)
    return key, submitter_key_digest(key)


def submitter_key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class Disclosure(enum.Enum):
    """How much of a project a reader may see."""

    SUMMARY = "summary"  # id, name, status, revision: an unlisted project to the public
    PUBLIC = "public"    # what the catalogue shows: a listed project's dossier and adoption
    FULL = "full"        # the dossier and the whole verdict history: judges and the submitter
    WITH_CONTACT = "with_contact"  # also the contact person: operator only


def require_formed_lab(dossier: Dossier, lab_is_formed: bool) -> None:
    """A lab's own project is accepted only from a lab that has actually been formed."""
    if dossier.lab_id is not None and not lab_is_formed:
        raise UnknownLab(dossier.lab_id)


@dataclass
class Project:
    id: uuid.UUID
    revision: int
    status: ProjectStatus
    dossier: Dossier
    contact: Contact | None
    submitted_at: datetime
    verdicts: list[VerdictRecord] = field(default_factory=list)
    implementations: dict[uuid.UUID, Implementation] = field(default_factory=dict)
    # sha256 of the submitter's key; None for projects submitted before keys existed (operator only).
    submitter_key_digest: bytes | None = None
    rating: Rating | None = None  # of a listed project decided with an evidence level (SPEC 5.2)
    measurements: dict[uuid.UUID, Measurement] = field(default_factory=dict)  # by measurement id (SPEC 5.3)

    @classmethod
    def submit(cls, dossier: Dossier, contact: Contact, now: datetime, submitter_key_digest: bytes,
               project_id: uuid.UUID | None = None) -> Project:
        return cls(id=project_id or uuid.uuid4(), revision=1, status=ProjectStatus.SUBMITTED,
                   dossier=dossier, contact=contact, submitted_at=now,
                   submitter_key_digest=submitter_key_digest)

    # --- the submitter ----------------------------------------------------------------------------

    def is_submitters_key(self, key: str) -> bool:
        if self.submitter_key_digest is None:
            return False
        return hmac.compare_digest(self.submitter_key_digest, submitter_key_digest(key))

    def require_submitter(self, key: str | None) -> None:
        """Only the submitter (who holds the key handed out at submission) may change the dossier."""
        if key is None:
            raise SubmitterKeyMissing(f"Project {self.id} can be changed only with the submitter's key "
                                      "(header X-Resubmission-Token) or by an operator")
        if not self.is_submitters_key(key):
            raise SubmitterKeyRejected(f"The key given is not the submitter's key of project {self.id}")

    def disclosure(self, roles: frozenset[str], key: str | None) -> Disclosure:
        """What a reader with these roles (none for the public) and this key (if any) may see."""
        if "operator" in roles:
            return Disclosure.WITH_CONTACT
        if key is not None:
            if not self.is_submitters_key(key):
                raise SubmitterKeyRejected(f"The key given is not the submitter's key of project {self.id}")
            return Disclosure.FULL
        if roles & READERS_OF_DOSSIERS:
            return Disclosure.FULL
        return Disclosure.PUBLIC if self.is_listed else Disclosure.SUMMARY

    # --- lifecycle --------------------------------------------------------------------------------

    @property
    def in_reassessment(self) -> bool:
        """Listed with a re-assessment round open (ReassessmentDue): the submitter may revise the dossier."""
        return self.is_listed and self.rating is not None and self.rating.reassessment_id is not None

    def require_resubmittable(self) -> None:
        if self.status is not ProjectStatus.NEEDS_INFORMATION and not self.in_reassessment:
            raise CatalogueConflict(
                f"Project {self.id} cannot be resubmitted",
                [f"the project's status must be 'needs_information' to resubmit, it is '{self.status}'"
                 + (", and no re-assessment of it is open" if self.is_listed else "")],
            )

    def resubmit(self, dossier: Dossier, contact: Contact | None, now: datetime) -> None:
        """A new revision of the dossier, answering the board's request for more information."""
        self.require_resubmittable()
        self.revision += 1
        # During a re-assessment the project stays listed under its rating until the board decides on the
        # revision: a tombstone now would read as a withdrawal to assessment, which would close the new round.
        if not self.in_reassessment:
            self.status = ProjectStatus.SUBMITTED
        self.dossier = dossier
        self.submitted_at = now
        if contact is not None:
            self.contact = contact

    def record_verdict(self, *, assessment_id: uuid.UUID, revision: int, verdict: Verdict,
                       rationale: str, decided_at: datetime, evidence_level: str | None = None,
                       valid_until: datetime | None = None) -> bool:
        """Record a verdict; it sets the status only when it is about the current revision.

        A verdict for an older revision (the dossier was resubmitted since) is kept in the history
        but changes nothing; so is any verdict on a withdrawn project, and one older than the verdict
        already applied to this revision (the board decided again; its latest decision holds).
        A verdict identical to one already recorded (redelivered under a new event id) is ignored.
        """
        if any((v.assessment_id, v.revision, v.verdict, v.decided_at)
               == (assessment_id, revision, verdict, decided_at) for v in self.verdicts):
            return False
        applies = (
            revision == self.revision
            and self.status is not ProjectStatus.WITHDRAWN
            and (self.current_verdict is None or decided_at >= self.current_verdict.decided_at)
        )
        self.verdicts.append(VerdictRecord(assessment_id, revision, verdict, rationale, decided_at, applies))
        if applies:
            self.status = ProjectStatus(verdict.value)
            # `proven` gives or renews the rating (an event from before evidence levels gives none); any other
            # verdict ends it, and the project leaves the catalogue.
            proven = verdict is Verdict.PROVEN and evidence_level is not None
            self.rating = Rating(evidence_level, valid_until) if proven else None
        return applies

    def record_reassessment_due(self, round_id: uuid.UUID, valid_until: datetime) -> bool:
        """Assessment opened a re-assessment round of the current rating; False when nothing changed."""
        if not self.is_listed or self.rating is None:
            return False
        opened = self.rating.reassessment_opened(round_id, valid_until)
        if opened is None:
            return False
        self.rating = opened
        return True

    def publish_expiry(self, now: datetime) -> bool:
        """The rating ran out: the feed says so once (True); the listing already hides it by the clock."""
        if self.rating is None or self.rating.status(now) is not RatingStatus.EXPIRED or self.rating.expiry_published:
            return False
        self.rating = replace(self.rating, expiry_published=True)
        return True

    def withdraw(self) -> bool:
        """Take the project out (of the catalogue); returns False when it was already withdrawn."""
        if self.status is ProjectStatus.WITHDRAWN:
            return False
        self.status = ProjectStatus.WITHDRAWN
        return True

    def erase_contact(self) -> None:
        """The contact person's right to erasure (GDPR): nothing of them remains."""
        self.contact = None

    # --- adoption by labs -------------------------------------------------------------------------

    def start_implementation(self, implementation_id: uuid.UUID, lab_id: uuid.UUID,
                             municipalities: tuple[str, ...]) -> bool:
        """A lab adopted the project; returns False when this implementation was already known."""
        known = self.implementations.get(implementation_id)
        if known is not None:
            if known.municipalities:
                return False
            # The handover or a stage change arrived first (naming no municipalities): complete what we know.
            self.implementations[implementation_id] = replace(known, municipalities=municipalities)
            return True
        self.implementations[implementation_id] = Implementation(implementation_id, lab_id, municipalities)
        return True

    def hand_over(self, implementation_id: uuid.UUID, lab_id: uuid.UUID, at: datetime) -> bool:
        """A lab handed its implementation over to regular operations; its task there is over."""
        known = self.implementations.get(implementation_id)
        if known is not None and known.handed_over_at is not None:
            return False
        known = known or Implementation(implementation_id, lab_id, ())
        self.implementations[implementation_id] = replace(known, handed_over_at=at)
        return True

    def change_stage(self, implementation_id: uuid.UUID, lab_id: uuid.UUID, municipalities: tuple[str, ...], *,
                     stage: str, status: str, reason: str | None, changed_at: datetime) -> bool:
        """An implementation's stage or status changed; the newest change wins, whatever order they arrive in
        (events are ordered per lab only). False when this change is not newer than the one known."""
        known = self.implementations.get(implementation_id)
        if known is not None and known.changed_at is not None and changed_at <= known.changed_at:
            return False
        known = known or Implementation(implementation_id, lab_id, ())
        self.implementations[implementation_id] = replace(
            known, municipalities=known.municipalities or municipalities, stage=stage, status=status, reason=reason,
            changed_at=changed_at)
        return True

    def record_measurement(self, measurement: Measurement) -> bool:
        """A site's impact measurement; False when this measurement was already recorded."""
        if measurement.measurement_id in self.measurements:
            return False
        self.measurements[measurement.measurement_id] = measurement
        return True

    # --- what the public sees ---------------------------------------------------------------------

    @property
    def is_listed(self) -> bool:
        """Only proven projects are in the catalogue (and on its feed)."""
        return self.status is ProjectStatus.PROVEN

    @property
    def current_verdict(self) -> VerdictRecord | None:
        """The verdict that set the status of the current revision, if any."""
        applied = [v for v in self.verdicts if v.applied and v.revision == self.revision]
        return applied[-1] if applied else None

    @property
    def listing_verdict(self) -> VerdictRecord | None:
        """The verdict that listed the project: during a re-assessment the revised dossier has none yet."""
        applied = [v for v in self.verdicts if v.applied]
        return applied[-1] if applied else None

    @property
    def labs_implementing(self) -> list[uuid.UUID]:
        labs: list[uuid.UUID] = []
        for impl in self.implementations.values():
            if impl.handed_over_at is None and not impl.is_stopped and impl.lab_id not in labs:
                labs.append(impl.lab_id)
        return labs

    @property
    def handovers(self) -> int:
        return sum(1 for impl in self.implementations.values() if impl.handed_over_at is not None)

    @property
    def municipalities(self) -> list[str]:
        """Where it runs: its origin, and wherever a lab implements it or handed it over."""
        found = [self.dossier.origin["municipality"]]
        for impl in self.implementations.values():
            found.extend(m for m in impl.municipalities if m not in found)
        return found

    @property
    def adoption(self) -> dict:
        return pooling.adoption(impl.site() for impl in self.implementations.values())

    @property
    def outcomes(self) -> dict | None:
        return pooling.pooled_outcomes(self.measurements.values())
