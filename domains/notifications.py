"""E-mails about a domain's state (filled in by the lifecycle work: failing, re-validated,
reminders, expiry). Called after commit with ids only."""


def domain_state_changed(*, domain_id: int, event: str, check_id: int | None) -> None:
    """Tell every Owner and Administrator what happened. Placeholder until implemented."""
    return None
