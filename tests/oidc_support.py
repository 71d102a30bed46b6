"""A real OpenID provider for the sign-in tests: oidc-provider-mock's WSGI app served over HTTP on a free local port
in a thread, with users whose claims the tests set through its own API (PUT /users/<sub>).

Some failures the mock cannot be told to make (a token signed by another key, a replayed ID token, a token endpoint
that cannot be reached). For those the mock sits behind ``Tampering``, a WSGI layer in the same server that
rewrites its answers as a test asks: the app under test still talks HTTP to a real provider, verifies against the
real JWKS, and nothing of Authlib is replaced."""

import base64
import json
import os
import socket
import threading
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import flask
import oidc_provider_mock
import requests
import werkzeug.serving
from joserfc import jwk, jwt

CLIENT_ID = "grants-test-client"
CLIENT_SECRET = "grants-test-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tampering:
    """Rewrites the provider's answers: ``id_token`` (a function of the ID token the provider issued, giving the one
    to send instead), ``metadata`` (of the discovery document's dict, or giving bytes to send as they are). Keeps
    every ID token issued in ``issued``."""

    def __init__(self, app):
        self.app = app
        self.id_token = None
        self.metadata = None
        self.issued = []

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path not in ("/oauth2/token", "/.well-known/openid-configuration"):
            return self.app(environ, start_response)
        captured = {}

        def keep(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        body = b"".join(self.app(environ, keep))
        if path == "/oauth2/token" and captured["status"].startswith("200"):
            answer = json.loads(body)
            if "id_token" in answer:
                self.issued.append(answer["id_token"])
                if self.id_token is not None:
                    answer["id_token"] = self.id_token(answer["id_token"])
            body = json.dumps(answer).encode()
        elif path != "/oauth2/token" and self.metadata is not None:
            result = self.metadata(json.loads(body))
            body = result if isinstance(result, bytes) else json.dumps(result).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(captured["status"], headers)
        return [body]


class Provider:
    """A running provider: ``url`` (its issuer), ``metadata_url``, ``tampering``; ``set_user(sub, **claims)``."""

    def __init__(self, url, tampering):
        self.url = url
        self.metadata_url = f"{url}/.well-known/openid-configuration"
        self.tampering = tampering

    def set_user(self, sub, **claims):
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def metadata(self):
        return requests.get(self.metadata_url, timeout=10).json()

    def jwks(self):
        return requests.get(self.metadata()["jwks_uri"], timeout=10).json()

    def signing_key(self):
        return jwk.RSAKey.import_key(requests.get(f"{self.url}/test-only/signing-key", timeout=10).json())

    def reset(self):
        self.tampering.id_token = None
        self.tampering.metadata = None
        self.tampering.issued.clear()


@contextmanager
def running_provider(**options):
    """Start oidc-provider-mock (``options`` as its app() takes them; require_nonce by default) on a free port of
    127.0.0.1 in a thread; stop it after."""
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the provider's Authlib server refuses plain http otherwise
    options.setdefault("require_nonce", True)
    provider_app = oidc_provider_mock.app(**options)
    # The provider's own signing key, for tests that need a token with a wrong issuer or audience that is still
    # signed correctly (an endpoint of the test's own on the mock's app, reading the key it signs with).
    provider_app.add_url_rule("/test-only/signing-key", "signing_key",
                              lambda: flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True))
    tampering = Tampering(provider_app.wsgi_app)
    provider_app.wsgi_app = tampering
    port = free_port()
    server = werkzeug.serving.make_server("127.0.0.1", port, provider_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{port}", tampering)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def configure(app, provider, *names):
    """Point the app's providers ``names`` (default both) at ``provider`` (a Provider, or a metadata URL)."""
    metadata_url = provider if isinstance(provider, str) else provider.metadata_url
    for name in names or ("idporten", "ansattporten"):
        app.config[f"OIDC_{name.upper()}_METADATA_URL"] = metadata_url
        app.config[f"OIDC_{name.upper()}_CLIENT_ID"] = CLIENT_ID
        app.config[f"OIDC_{name.upper()}_CLIENT_SECRET"] = CLIENT_SECRET
    app.config["OIDC_TIMEOUT_SECONDS"] = 5


def ansattporten_claims(*organisation_numbers):
    """Ansattporten's authorization_details for a person acting for these organisations (docs.digdir.no,
    "RAR-typer i Ansattporten": reportees with ISO 6523 identifiers, 0192 = Enhetsregisteret)."""
    return [{"type": "ansattporten:altinn:resource", "resource": "urn:altinn:resource:imdi-tilskudd",
             "reportees": [{"Rights": ["read"], "Authority": "iso6523-actorid-upis", "ID": f"0192:{number}",
                            "Name": f"Organisasjon {number}"} for number in organisation_numbers]}]


# --- driving the flow -----------------------------------------------------------------------------------------

def start(client, provider_name="idporten", **query):
    """The app's start of the sign-in: gives the provider's authorization URL it redirects to."""
    response = client.get(f"/konto/oidc/{provider_name}/logg-inn", query_string=query)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def authorize(authorization_url, sub):
    """What the person does at the provider's login page: choose ``sub`` and go on. Gives the callback URL the
    provider sends the browser back to (path and query, for the test client)."""
    response = requests.post(authorization_url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    location = urlsplit(response.headers["Location"])
    return f"{location.path}?{location.query}"


def sign_in(client, sub, provider_name="idporten", **query):
    """The whole round trip; gives the app's answer to the callback."""
    return client.get(authorize(start(client, provider_name, **query), sub))


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def resign(id_token, key, kid=None, **changes):
    """The ID token's claims (with ``changes``) signed again with ``key`` (a joserfc RSA key), under ``kid``."""
    header_part, payload_part, _signature = id_token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_part + "=" * (-len(header_part) % 4)))
    claims = json.loads(base64.urlsafe_b64decode(payload_part + "=" * (-len(payload_part) % 4)))
    claims.update(changes)
    new_header = {"alg": "RS256"}
    if kid or header.get("kid"):
        new_header["kid"] = kid or header["kid"]
    return jwt.encode(new_header, claims, key)


def other_key():
    return jwk.RSAKey.generate_key(2048, private=True)


EXPIRED = timedelta(seconds=-600)  # beyond Authlib's leeway of 120 seconds
