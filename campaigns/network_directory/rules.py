"""What a network's profile may hold: one set of checks for the staff form and the command line,
so the two refuse the same things with the same words.

Each check returns the cleaned value and a list of messages (empty when all is well), so a caller
can show every mistake at once, each naming the line it is on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from campaigns.core.i18n import EU_MEMBER_STATES
from campaigns.extensions import db
from campaigns.lobbying.directory import TARGET_LANGUAGES
from campaigns.networks.models import Network

# The countries a member network works in: the member states and Norway.
NETWORK_COUNTRIES = (*EU_MEMBER_STATES, "NO")
SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])")
NAME_MAX = 200  # Network.name
WEBSITE_MAX = 300  # Network.website
DESCRIPTION_MAX = 1000
CONTACTS_MAX = 20
CONTACT_NAME_MAX = 120  # NetworkContact.name
EMAIL_MAX = 254
ORIGINS_MAX = 10
# Hosts for which an http:// origin is accepted, and only in development and tests: a page
# served by a local web server while trying the embeddable form out.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_CONTACT = re.compile(r"^(?P<name>[^<>]*?)\s*<(?P<email>[^<>]*)>$")
# Errors shown for one field: enough to fix the first few lines, not a wall of text.
MAX_LINE_ERRORS = 3


@dataclass(frozen=True)
class Contact:
    name: str
    email: str


def alert_languages() -> tuple[str, ...]:
    """The languages alerts can be written in: the platform's own."""
    return tuple(current_app.config["LANGUAGES"])


def working_languages() -> tuple[str, ...]:
    """The languages a network may say it works in: the EU's, Luxembourgish and Norwegian."""
    return tuple(dict.fromkeys((*alert_languages(), *TARGET_LANGUAGES)))


def local_http_allowed() -> bool:
    """Whether http://localhost origins are accepted: in tests and development only (where
    webhooks to local receivers are allowed too), never in production."""
    config = current_app.config
    return bool(config.get("TESTING") or config.get("DEBUG") or config.get("WEBHOOK_ALLOW_HTTP"))


def joined(errors: list[str]) -> str:
    """Several line errors as one message (a field shows one), the first few of them."""
    shown = " ".join(errors[:MAX_LINE_ERRORS])
    more = len(errors) - MAX_LINE_ERRORS
    if more > 0:
        shown += " " + _("And %(count)d more.", count=more)
    return shown


# --- Slug -----------------------------------------------------------------------------------


def check_slug(slug: str, network_id: int | None = None) -> list[str]:
    """The `?source=` code: 2 to 40 lowercase letters, digits and hyphens, not another network's."""
    if not slug:
        return [_("Please enter a slug, such as asud.")]
    if not 2 <= len(slug) <= 40 or not SLUG_PATTERN.fullmatch(slug):
        return [
            _(
                "A slug has 2 to 40 lowercase letters (a–z), digits and hyphens, and starts and "
                "ends with a letter or digit, such as jes-bundesverband."
            )
        ]
    taken = db.session.scalar(select(Network).where(Network.slug == slug))
    if taken is not None and taken.id != network_id:
        return [
            _(
                "The slug “%(slug)s” belongs to %(name)s already. Please choose another.",
                slug=slug,
                name=taken.name,
            )
        ]
    return []


# --- Name, website, description (the form checks these with its validators) --------------------


def check_name(name: str) -> list[str]:
    if not name.strip():
        return [_("Please enter the network's name.")]
    if len(name) > NAME_MAX or any(ch in name for ch in "\r\n"):
        return [_("The name is one line of at most %(max)d characters.", max=NAME_MAX)]
    return []


def check_website(url: str) -> list[str]:
    """Empty, or an https:// address with a host, as campaigns.core.forms.https_link."""
    if not url:
        return []
    message = _("Please enter a web address that starts with https://, such as https://europa.eu/.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return [message]
    odd = any(ch.isspace() or ord(ch) < 32 for ch in url)
    if parts.scheme.lower() != "https" or not host or odd or len(url) > WEBSITE_MAX:
        return [message]
    return []


def check_description(text: str) -> list[str]:
    if len(text) > DESCRIPTION_MAX:
        return [_("Please use at most %(max)d characters.", max=DESCRIPTION_MAX)]
    return []


# --- Lists of choices ---------------------------------------------------------------------------


def check_countries(codes: list[str], *, required: bool = True) -> list[str]:
    unknown = [code for code in codes if code not in NETWORK_COUNTRIES]
    if unknown:
        return [
            _(
                "Unknown country: %(codes)s. Use the two-letter codes of the EU member states and "
                "Norway, such as FR or NO.",
                codes=", ".join(unknown),
            )
        ]
    if required and not codes:
        return [_("Please choose at least one country.")]
    return []


def check_languages(codes: list[str]) -> list[str]:
    """The first is the language of its alerts; the others, those it works in."""
    if not codes:
        return [_("Please choose the language its alerts are written in.")]
    if codes[0] not in alert_languages():
        return [
            _(
                "Alerts can be written in %(languages)s: please put one of these first.",
                languages=", ".join(alert_languages()),
            )
        ]
    unknown = [code for code in codes if code not in working_languages()]
    if unknown:
        return [_("Unknown language: %(codes)s.", codes=", ".join(unknown))]
    return []


# --- Alert contacts -----------------------------------------------------------------------------


def line_label(number: int) -> str:
    """Where a mistake is, on a form: its line."""
    return _("Line %(line)d", line=number)


def parse_contacts(
    lines: list[str], where: Callable[[int], str] = line_label
) -> tuple[list[Contact], list[str]]:
    """Contacts written "Name <email>" (or a bare address), one a line; blank lines skipped.
    The same address twice is a mistake (a copy and paste gone wrong), not merged silently.
    `where` names the place of a mistake (a line of the form, an option of the command)."""
    contacts: list[Contact] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        match = _CONTACT.match(line)
        name, address = (match["name"].strip(), match["email"].strip()) if match else ("", line)
        email = _valid_email(address)
        if len(name) > CONTACT_NAME_MAX:
            problem = _("the name is longer than %(max)d characters.", max=CONTACT_NAME_MAX)
        elif email is None:
            problem = _(
                "“%(text)s” is not a valid email address. Write one contact a line, as "
                "Name <name@example.org>.",
                text=address[:80],
            )
        elif email in seen:
            problem = _("%(email)s is listed already (%(first)s).", email=email, first=seen[email])
        else:
            seen[email] = where(number)
            contacts.append(Contact(name=name, email=email))
            continue
        errors.append(f"{where(number)}: {problem}")
    if len(contacts) > CONTACTS_MAX:
        errors.append(_("Please list at most %(max)d contacts.", max=CONTACTS_MAX))
    return contacts, errors


def _valid_email(address: str) -> str | None:
    if not address or len(address) > EMAIL_MAX or any(ch.isspace() for ch in address):
        return None
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.normalized.lower()


def contact_lines(contacts: list[Contact] | list) -> str:
    """Contacts back as the text staff edit."""
    return "\n".join(
        f"{contact.name} <{contact.email}>" if contact.name else contact.email
        for contact in contacts
    )


# --- Embed origins ------------------------------------------------------------------------------


def parse_origins(
    lines: list[str], where: Callable[[int], str] = line_label
) -> tuple[list[str], list[str]]:
    """Web origins allowed to frame our forms, one a line, each written back in its canonical
    form (lowercase, no default port) as a browser compares it in CSP frame-ancestors."""
    origins: list[str] = []
    errors: list[str] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        origin, problem = _origin(line)
        if problem:
            errors.append(f"{where(number)}: “{line[:80]}”: {problem}")
        elif origin in origins:
            errors.append(f"{where(number)}: " + _("%(origin)s is listed already.", origin=origin))
        else:
            origins.append(origin)
    if len(origins) > ORIGINS_MAX:
        errors.append(_("Please list at most %(max)d origins.", max=ORIGINS_MAX))
    return origins, errors


def _origin(text: str) -> tuple[str, str | None]:
    """(canonical origin, None) or ("", what is wrong with it)."""
    example = _("write only the site's origin, such as https://www.example.org")
    if any(ch.isspace() or ord(ch) < 32 for ch in text) or "*" in text:
        return "", _("no spaces or wildcards; %(example)s.", example=example)
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return "", _("this is not a web address; %(example)s.", example=example)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host or not parts.netloc:
        return "", _("this is not a web address; %(example)s.", example=example)
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text or "#" in text:
        return "", _("an origin has no path, query or #part; %(example)s.", example=example)
    if parts.username is not None or "@" in parts.netloc:
        return "", _("an origin has no user name or password; %(example)s.", example=example)
    ascii_host = _ascii_host(host)
    if ascii_host is None:
        return "", _("“%(host)s” is not a valid host name.", host=host)
    if scheme == "http" and not (host in LOOPBACK_HOSTS and local_http_allowed()):
        return "", _("only https:// sites may embed our forms.")
    default_port = 443 if scheme == "https" else 80
    shown_host = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    suffix = f":{port}" if port is not None and port != default_port else ""
    return f"{scheme}://{shown_host}{suffix}", None


def _ascii_host(host: str) -> str | None:
    """The host as a browser sends it (an international name in its xn-- form), or None."""
    if host == "::1":
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_host.split(".")
    valid = len(ascii_host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)
    return ascii_host if valid else None
