"""Text written into CSV files that people open in spreadsheet programs."""

# A cell starting with one of these is a formula (or becomes one) in spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """Text that a spreadsheet shows as text: a leading ' before a formula-like start."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text
