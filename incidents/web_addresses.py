"""Which recorded addresses are web addresses: http or https with a host. Only those become
links; anything else an import or an older record let through (`javascript:`, `data:`) is shown
as text and refused at import, as it could run in a reader's browser."""

from urllib.parse import urlsplit

WEB_SCHEMES = frozenset({"http", "https"})


def is_web_address(address):
    # urlsplit drops tabs and newlines and leading spaces as browsers do, so "java\tscript:"
    # is read as the browser would read it.
    try:
        parts = urlsplit(str(address))
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)


def web_address_problem(address):
    """Why an address may not be stored, or None when it may (empty means no address)."""
    if address and not is_web_address(address):
        return f"not a web address (http or https): {address!r}"
    return None
