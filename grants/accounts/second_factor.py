"""The second factor of IMDi's staff (tofaktor): time-based one-time codes (TOTP, RFC 6238) from an app on the
phone, one-time recovery codes, and when a fresh check is due. Plain Python: no Flask, no database, no clock of
its own (every rule takes the time as a parameter), so the unit tests can move time.

* A code belongs to a time step of STEP_SECONDS (30 s). A code of the step now, or of the step before or after
  (``valid_window`` 1: a phone clock a little off, a code typed as it changed), is accepted once: the step it
  matched is remembered, and a code of that step or an earlier one is refused as used (no replay within its
  window).
* A code that matches a step further off (up to SKEW_STEPS steps, five minutes) is refused with its own message:
  the phone's clock is wrong, and the user should set it, not keep typing.
* Recovery codes are ten random codes, shown once and kept only as hashes; each one works once.
* A fresh check is due before approving and publishing when the last check is older than the configured minutes.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import pyotp

STEP_SECONDS = 30
DIGITS = 6
VALID_WINDOW = 1        # steps either side of now that are accepted
SKEW_STEPS = 10         # steps either side that are recognised as a wrong clock (and refused)
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: easy to read back from paper
RECOVERY_LENGTH = 10

ACCEPTED, WRONG, REPLAYED, SKEWED, MALFORMED = "accepted", "wrong", "replayed", "skewed", "malformed"

IMDI_ROLES = ("reviewer", "caseworker", "approver", "admin")


@dataclass(frozen=True)
class CodeCheck:
    """The answer to a typed code: ``outcome`` is ACCEPTED, WRONG, REPLAYED (its step was used already), SKEWED
    (it belongs to a step more than VALID_WINDOW away: the clock is off) or MALFORMED (not six digits);
    ``step`` the time step it matched (ACCEPTED, REPLAYED, SKEWED), ``offset`` how many steps that is from now."""

    outcome: str
    step: int | None = None
    offset: int | None = None

    @property
    def accepted(self):
        return self.outcome == ACCEPTED


def new_secret():
    """A new random TOTP secret (base32 text, 160 bits as RFC 4226 recommends)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def grouped(secret):
    """The secret in groups of four characters, for typing it into an app by hand ("ABCD EFGH ...")."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret, account, issuer):
    """The otpauth:// URI that the QR code holds: the app learns the secret, the account name and the issuer."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account,
                                                                                      issuer_name=issuer)


def step_at(seconds):
    """The time step (int) of a moment given as seconds since the epoch (float)."""
    return int(seconds // STEP_SECONDS)


def code_for_step(secret, step):
    """The code (str of six digits) of ``secret`` for time step ``step``."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(step * STEP_SECONDS)


def normalise_code(text):
    """What was typed, without spaces and dashes (phones show "123 456")."""
    return re.sub(r"[\s\-]", "", text or "")


def looks_like_totp(text):
    """True when ``text`` is six digits (spaces and dashes aside): a code from the app, not a recovery code."""
    return re.fullmatch(rf"\d{{{DIGITS}}}", normalise_code(text)) is not None


def check_code(secret, text, now, last_step=None, valid_window=VALID_WINDOW, skew_steps=SKEW_STEPS):
    """Check a typed code against ``secret`` at ``now`` (seconds since the epoch).

    ``last_step`` is the step of the last code accepted for this secret (None: none yet). Gives a CodeCheck:
    ACCEPTED with the step to remember; REPLAYED when the code's step is ``last_step`` or earlier; SKEWED when it
    matches a step more than ``valid_window`` but at most ``skew_steps`` steps from now; MALFORMED when it is not
    six digits; WRONG otherwise. The nearest steps are tried first, so a code is always taken for its nearest
    step."""
    code = normalise_code(text)
    if not looks_like_totp(code):
        return CodeCheck(MALFORMED)
    now_step = step_at(now)
    offsets = sorted(range(-skew_steps, skew_steps + 1), key=lambda o: (abs(o), o))
    for offset in offsets:
        step = now_step + offset
        if not hmac.compare_digest(code_for_step(secret, step), code):
            continue
        if abs(offset) > valid_window:
            return CodeCheck(SKEWED, step, offset)
        if last_step is not None and step <= last_step:
            return CodeCheck(REPLAYED, step, offset)
        return CodeCheck(ACCEPTED, step, offset)
    return CodeCheck(WRONG)


# --- recovery codes -------------------------------------------------------------------------------------------

def new_recovery_codes(count=RECOVERY_CODE_COUNT):
    """``count`` new recovery codes as shown to the user ("abcde-fghjk"): about 49 bits of chance each."""
    codes = set()
    while len(codes) < count:
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.add(f"{raw[:5]}-{raw[5:]}")
    return sorted(codes)


def normalise_recovery_code(text):
    """A typed recovery code as it is hashed: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def hash_recovery_code(text):
    """The hash kept of a recovery code (hex SHA-256 of the normalised code). The codes are long random strings,
    not passwords a person chose, so a fast hash keeps them as safe as a slow one would."""
    return hashlib.sha256(normalise_recovery_code(text).encode()).hexdigest()


# --- who needs it, and when again ------------------------------------------------------------------------------

def parse_roles(setting):
    """MFA_REQUIRED_ROLES as a set of role names: a comma- or space-separated string, or a sequence."""
    if isinstance(setting, str):
        return {part for part in re.split(r"[\s,]+", setting.strip()) if part}
    return {str(part) for part in setting}


def required_for(role, required_roles):
    """True when a user of ``role`` (a Role or its name) must use a second factor; ``required_roles`` is the
    setting (see parse_roles). Kommune staff never do: they are not IMDi's staff."""
    name = str(role)
    return name != "municipal" and name in parse_roles(required_roles)


def needs_fresh_check(last_check, now, max_age_minutes):
    """True when an action that asks for a recent second factor must ask again: there was no check in this
    session (``last_check`` None), or it is ``max_age_minutes`` or more old at ``now`` (both seconds since the
    epoch), or it lies in the future (a clock turned back: not to be trusted). ``max_age_minutes`` 0 asks every
    time."""
    if last_check is None:
        return True
    age = now - last_check
    return age < 0 or age >= max_age_minutes * 60
