"""What every part of the normaliser raises, and the limits of a DNS name."""

from domains.messages import Message

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
MAX_INPUT_LENGTH = 2048


class DomainNameError(ValueError):
    """The input cannot be used as a domain name; `message` says why, `code` names the rule."""

    def __init__(self, message: Message, code: str):
        super().__init__(message.english())
        self.message = message
        self.code = code


def reject(code: str, text: str, **params) -> DomainNameError:
    return DomainNameError(Message(text, params), code)
