"""What can go wrong in the catalogue's domain, in its own words."""


class ProjectNotFound(LookupError):
    pass


class CatalogueConflict(Exception):
    """A command that the project's current state does not allow; `conditions` lists every unmet one."""

    def __init__(self, message: str, conditions: list[str]) -> None:
        super().__init__(message)
        self.conditions = conditions


class UnknownLab(ValueError):
    """A submission names a lab (`origin.lab_id`) that this service has not seen formed."""

    field = "origin.lab_id"

    def __init__(self, lab_id: object) -> None:
        self.reason = (f"no formed lab with id {lab_id} is known; a lab's own project can be submitted "
                       "only once the lab has been formed")
        super().__init__(self.reason)
        self.lab_id = lab_id


# Plain exceptions, not PermissionError: that is an OSError (an operating system's refusal), which code
# around a database call may rightly take for a failing connection rather than a refused submitter.
class SubmitterKeyMissing(Exception):
    """Changing or reading an unlisted project needs the submitter's key, and none was given."""


class SubmitterKeyRejected(Exception):
    """The key given is not the submitter's key of this project."""
