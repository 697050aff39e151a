"""What can go wrong in the catalogue's domain, in its own words."""


class ProjectNotFound(LookupError):
    pass
