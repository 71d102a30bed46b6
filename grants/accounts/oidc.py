"""The rules of signing in with OpenID Connect (ID-porten and Ansattporten), as plain Python: which providers are
offered, how a person's identifier becomes what is stored, where Ansattporten's token names the organisation a
person acts for, and which roles may still log in with a password. No Flask, no database."""

import hashlib
import hmac
from dataclasses import dataclass

from stdnum.exceptions import ValidationError
from stdnum.no import orgnr

IDPORTEN, ANSATTPORTEN = "idporten", "ansattporten"
PROVIDERS = (IDPORTEN, ANSATTPORTEN)
PROVIDER_TITLES = {IDPORTEN: "ID-porten", ANSATTPORTEN: "Ansattporten"}  # names of services: not translated

# The claims that identify the person, in order of preference. ID-porten's and Ansattporten's "pid" is the national
# identity number, the same for the person whatever client asks; "sub" is the provider's pseudonym of the person for
# this client. Either way only a keyed digest of it is kept (subject_digest).
SUBJECT_CLAIMS = ("pid", "sub")

# Ansattporten's organisation numbers come as ISO 6523 identifiers: "0192" is Norway's Enhetsregisteret.
ORGANISATION_SCHEME = "0192"

# What the metadata (the discovery document) must name for the flow to work.
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


class NoSubject(ValueError):
    """The token names no person (neither pid nor sub)."""


@dataclass(frozen=True)
class ProviderSettings:
    name: str
    metadata_url: str
    client_id: str
    client_secret: str | None
    scopes: str

    @property
    def title(self):
        return PROVIDER_TITLES[self.name]


def provider_settings(config, name):
    """The settings of provider ``name`` (one of PROVIDERS) from ``config`` (a mapping such as app.config), or None
    when the provider is not offered: no client id, or no metadata URL, configured."""
    if name not in PROVIDERS:
        return None
    prefix = f"OIDC_{name.upper()}_"
    client_id = (config.get(prefix + "CLIENT_ID") or "").strip()
    metadata_url = (config.get(prefix + "METADATA_URL") or "").strip()
    if not client_id or not metadata_url:
        return None
    return ProviderSettings(name=name, metadata_url=metadata_url, client_id=client_id,
                            client_secret=config.get(prefix + "CLIENT_SECRET") or None,
                            scopes=(config.get(prefix + "SCOPES") or "openid").strip())


def offered_providers(config):
    """The ProviderSettings of every configured provider, in the order of PROVIDERS."""
    return [s for s in (provider_settings(config, name) for name in PROVIDERS) if s is not None]


def subject_key(config):
    """The HMAC key for subject digests (bytes): OIDC_SUBJECT_KEY, or, where none is set (development and tests;
    production refuses to start without one when a provider is configured), a key derived from SECRET_KEY."""
    key = config.get("OIDC_SUBJECT_KEY")
    if key:
        return key.encode()
    return hmac.new(str(config["SECRET_KEY"]).encode(), b"grants-oidc-subject", hashlib.sha256).digest()


def subject_of(claims):
    """The person's identifier in the verified ID token's ``claims`` (a mapping): "pid" where the provider gives it,
    else "sub". Raises NoSubject when neither is a non-empty string."""
    for name in SUBJECT_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise NoSubject("the token names no person")


def subject_digest(key, provider, subject):
    """What is stored for a person: HMAC-SHA256 under ``key`` (bytes) of the provider's name and the identifier
    (str), as 64 hex digits. The provider is part of the message, so the same person's digests differ between
    providers, and without the key no digest can be matched against a list of identity numbers."""
    message = f"{provider}\x00{subject}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def valid_organisation_number(value):
    """``value`` (str) as 9 digits when it is a valid Norwegian organisation number (MOD11 check digit; spaces
    allowed), else None."""
    if not isinstance(value, str):
        return None
    try:
        return orgnr.validate(value)
    except ValidationError:
        return None


def organisation_numbers(claims):
    """The organisation numbers that Ansattporten's verified ID token ``claims`` say the person acts for, in
    order and without repeats: every ``reportees`` entry of every ``authorization_details`` object whose "ID" is
    "0192:<organisation number>" with a valid number. Anything else in the claim (other schemes, malformed entries,
    a claim that is not a list) is ignored; no claim gives []."""
    details = claims.get("authorization_details")
    if isinstance(details, dict):
        details = [details]
    if not isinstance(details, list):
        return []
    found = []
    for detail in details:
        reportees = detail.get("reportees") if isinstance(detail, dict) else None
        if not isinstance(reportees, list):
            continue
        for reportee in reportees:
            identifier = reportee.get("ID") if isinstance(reportee, dict) else None
            if not isinstance(identifier, str) or ":" not in identifier:
                continue
            scheme, _, number = identifier.partition(":")
            number = valid_organisation_number(number) if scheme == ORGANISATION_SCHEME else None
            if number and number not in found:
                found.append(number)
    return found


def authorization_details_request(resource):
    """The ``authorization_details`` Ansattporten is asked for (a list for JSON), so that the person chooses the
    organisation they act for: one object of type ansattporten:altinn:resource for the Altinn ``resource``. None
    when no resource is configured."""
    if not resource:
        return None
    return [{"type": "ansattporten:altinn:resource", "resource": resource}]


def password_roles(config):
    """The roles (set of str) that may log in with a password: PASSWORD_LOGIN_ROLES, comma-separated."""
    value = config.get("PASSWORD_LOGIN_ROLES")
    if value is None:
        return {"municipal", "reviewer", "caseworker", "approver", "admin"}
    if isinstance(value, list | tuple | set | frozenset):
        return {str(v).strip() for v in value if str(v).strip()}
    return {part.strip() for part in str(value).split(",") if part.strip()}


def password_login_allowed(config, role):
    """Whether a user with ``role`` (a Role or its value) may log in with a password under ``config``."""
    return str(role) in password_roles(config)


def metadata_problem(metadata):
    """What is wrong with a provider's discovery document (a parsed JSON value), as a short English phrase for the
    log, or None when it names everything the flow needs with https or http URLs."""
    if not isinstance(metadata, dict):
        return "the discovery document is not a JSON object"
    for name in REQUIRED_METADATA:
        value = metadata.get(name)
        if not isinstance(value, str) or not value.strip():
            return f"the discovery document has no {name}"
        if name != "issuer" and not value.startswith(("https://", "http://")):
            return f"the discovery document's {name} is not a URL"
    return None
