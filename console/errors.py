class ConsoleError(Exception):
    """The one application error: a service refuses an illegal action with a message for people.

    `retry_after_seconds` is set when the refusal is a rate limit, so a caller can say when to retry.
    """

    def __init__(self, message, *, code: str = "invalid", retry_after_seconds: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.retry_after_seconds = retry_after_seconds

    def __str__(self):
        return str(self.message)
