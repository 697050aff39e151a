"""What can go wrong in the assessment's domain."""


class AssessmentNotFound(LookupError):
    pass
