"""Talking to the OpenID Connect providers through Authlib's Flask client: the authorization code flow with PKCE
(S256), state and nonce, the provider found by its discovery document, the ID token checked by Authlib for issuer,
audience, expiry, nonce and signature (the provider's JWKS). Every way the provider can fail ends in SignInFailed,
with a reason the page can explain.

One Authlib registry per app (app.extensions), so that apps with different settings (tests) never share a client.
The discovery document is kept for OIDC_METADATA_MAX_AGE_SECONDS, and forgotten at once if it is unusable."""

import json
import logging
import threading
import time

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.base_client.errors import MismatchingStateError
from authlib.integrations.flask_client import OAuth
from flask import current_app, session
from joserfc.errors import JoseError

from grants.accounts import oidc

log = logging.getLogger(__name__)
_EXTENSION = "grants_oidc"
_lock = threading.Lock()

# Why a sign-in failed (the pages explain each: grants.accounts.oidc_views).
UNREACHABLE = "unreachable"   # the provider did not answer (connection refused, timeout, HTTP error)
NONSENSE = "nonsense"         # it answered something that is not a usable discovery document or token response
STATE = "state"               # the callback's state is not one this browser started (or it was used already)
CANCELLED = "cancelled"       # the provider sent an error back (the person cancelled, or it refused)
REFUSED = "refused"           # the token endpoint refused the code (used already, expired, wrong verifier)
TOKEN = "token"  # noqa: S105 - a reason: the ID token failed a check (signature, iss, aud, exp, nonce)
NO_SUBJECT = "no_subject"     # the ID token names no person


class SignInFailed(Exception):
    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = str(detail)


def settings(name):
    """The configured provider ``name`` (grants.accounts.oidc.ProviderSettings) of the current app, or None."""
    return oidc.provider_settings(current_app.config, name)


def _registry():
    app = current_app._get_current_object()
    registry = app.extensions.get(_EXTENSION)
    if registry is None:
        with _lock:
            registry = app.extensions.get(_EXTENSION)
            if registry is None:
                registry = OAuth(app)
                app.extensions[_EXTENSION] = registry
    return registry


def _client(name):
    provider = settings(name)
    if provider is None:
        return None, None
    registry = _registry()
    client = registry._clients.get(name)
    if client is None:
        with _lock:
            client = registry._clients.get(name) or registry.register(
                name,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                server_metadata_url=provider.metadata_url,
                client_kwargs={
                    "scope": provider.scopes,
                    "code_challenge_method": "S256",
                    "default_timeout": current_app.config.get("OIDC_TIMEOUT_SECONDS", 10),
                },
            )
    return client, provider


def _forget_metadata(client):
    client.server_metadata = {}


def _metadata(client):
    """The provider's discovery document, fetched when not held or too old. Raises SignInFailed."""
    loaded = client.server_metadata.get("_loaded_at")
    if loaded and time.time() - loaded > current_app.config.get("OIDC_METADATA_MAX_AGE_SECONDS", 3600):
        _forget_metadata(client)
    try:
        metadata = client.load_server_metadata()
    except (ValueError, TypeError, AttributeError) as error:  # not JSON (requests' JSONDecodeError is a ValueError),
        _forget_metadata(client)                               # or JSON that is not an object
        raise SignInFailed(NONSENSE, error) from error
    except requests.RequestException as error:
        _forget_metadata(client)
        raise SignInFailed(UNREACHABLE, error) from error
    problem = oidc.metadata_problem(metadata)
    if problem:
        _forget_metadata(client)
        raise SignInFailed(NONSENSE, problem)
    return metadata


def begin(name, redirect_uri, **params):
    """The redirect (a Flask response) that sends the browser to provider ``name``'s login, with a new state, nonce
    and PKCE verifier kept in the session for the callback. Raises SignInFailed when the provider is unreachable or
    its discovery document unusable; LookupError when the provider is not configured."""
    client, _provider = _client(name)
    if client is None:
        raise LookupError(name)
    _metadata(client)
    try:
        return client.authorize_redirect(redirect_uri, **params)
    except (RuntimeError, ValueError, TypeError) as error:
        raise SignInFailed(NONSENSE, error) from error


def finish(name):
    """The callback's work: check the state, exchange the code (with the PKCE verifier), and have Authlib verify
    the ID token: signature against the provider's JWKS, issuer = the discovery document's, audience = our client
    id, not expired, nonce = the one this browser's sign-in sent. Gives (claims dict, the raw ID token).

    Raises SignInFailed (STATE, CANCELLED, REFUSED, TOKEN, UNREACHABLE, NONSENSE) for every failure; LookupError when
    the provider is not configured."""
    client, provider = _client(name)
    if client is None:
        raise LookupError(name)
    metadata = _metadata(client)
    options = {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": provider.client_id},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    try:
        token = client.authorize_access_token(claims_options=options)
    except MismatchingStateError as error:
        raise SignInFailed(STATE, error) from error
    except OAuthError as error:
        # An error in the callback itself (the person cancelled), or the token endpoint's refusal.
        reason = CANCELLED if error.error and error.error in _callback_error() else REFUSED
        raise SignInFailed(reason, f"{error.error}: {error.description}") from error
    except JoseError as error:
        raise SignInFailed(TOKEN, repr(error)) from error
    except (ValueError, TypeError, KeyError, AttributeError, RuntimeError) as error:  # before RequestException:
        raise SignInFailed(NONSENSE, error) from error                                # JSONDecodeError is both
    except requests.RequestException as error:
        raise SignInFailed(UNREACHABLE, error) from error
    claims = token.get("userinfo")
    if not claims or not token.get("id_token"):
        raise SignInFailed(TOKEN, "the token response has no ID token")
    try:
        oidc.subject_of(claims)
    except oidc.NoSubject as error:
        raise SignInFailed(NO_SUBJECT, error) from error
    return dict(claims), token["id_token"]


def _callback_error():
    from flask import request

    error = request.args.get("error")
    return {error} if error else set()


def logout_url(name, id_token, post_logout_redirect_uri):
    """The URL of provider ``name``'s end-session endpoint with the ID token as id_token_hint, the URL to come back
    to and a new state (kept in the session for check_logout). None when the provider is not configured, cannot be
    reached or names no end-session endpoint: then only this app's session ends."""
    client, _provider = _client(name)
    if client is None:
        return None
    try:
        metadata = _metadata(client)
    except SignInFailed as error:
        log.warning("no single logout at %s: %s", name, error)
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    result = client.create_logout_url(post_logout_redirect_uri=post_logout_redirect_uri, id_token_hint=id_token)
    client.framework.set_state_data(session, result["state"], {"post_logout_redirect_uri": post_logout_redirect_uri})
    return result["url"]


def check_logout(name):
    """Whether the browser came back from provider ``name``'s end-session endpoint with the state this session sent
    (the state is spent)."""
    client, _provider = _client(name)
    if client is None:
        return False
    try:
        client.validate_logout_response()
    except OAuthError:
        return False
    return True


def authorization_details_param(name):
    """Extra parameters for the authorization request of provider ``name``: Ansattporten's authorization_details
    (JSON) when OIDC_ANSATTPORTEN_RESOURCE is set."""
    if name != oidc.ANSATTPORTEN:
        return {}
    details = oidc.authorization_details_request(current_app.config.get("OIDC_ANSATTPORTEN_RESOURCE"))
    return {"authorization_details": json.dumps(details)} if details else {}
