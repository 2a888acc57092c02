class ConsoleError(Exception):
    """The one application error: a service refuses an illegal action with a message for people."""

    def __init__(self, message, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self):
        return str(self.message)
