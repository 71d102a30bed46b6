"""`make run`: the web app, a Celery worker and beat together, and a local OpenID provider (oidc-provider-mock)
standing in for ID-porten and Ansattporten; prints the address, the demo logins and how to try signing in.

Ctrl-C stops all four. With OIDC_IDPORTEN_CLIENT_ID or OIDC_ANSATTPORTEN_CLIENT_ID set (a real provider), or
DEMO_OIDC=0, no local provider is started and the settings are left as they are.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))  # config.py and grants/ sit at the root; this script runs from tools/

from grants.accounts.register import read_organisation_numbers  # noqa: E402


def print_qr(uri):
    """The demo's app key as a QR code drawn in the terminal (segno), for a phone's authenticator app to scan."""
    import segno

    segno.make(uri, error="m").terminal(compact=True)


def main():
    instance = Path(os.environ.get("GRANTS_INSTANCE_DIR", ROOT / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, FLASK_APP="wsgi", PYTHONUNBUFFERED="1")
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "5000")
    provider_port = os.environ.get("OIDC_MOCK_PORT", "9400")
    local_provider = local_provider_wanted(os.environ)
    if local_provider:
        env.update(local_provider_settings(provider_port))
        os.environ.update(local_provider_settings(provider_port))  # create_app below reads the same settings
    commands = {
        "web": [str(BIN / "flask"), "run", "--host", host, "--port", port, "--no-reload"],
        "worker": [str(BIN / "celery"), "-A", "make_celery", "worker", "--loglevel", "INFO",
                   "-Q", "default,mail,heavy", "--concurrency", "2"],
        "beat": [str(BIN / "celery"), "-A", "make_celery", "beat", "--loglevel", "INFO",
                 "--schedule", str(instance / "celerybeat-schedule")],
    }
    if local_provider:
        commands["provider"] = local_provider_command(provider_port)
    # Read the demo logins first: if the app cannot even start here, nothing is left running behind.
    from grants import create_app
    from grants.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, demo_logins, demo_totp_uri

    app = create_app()
    with app.app_context():
        logins = demo_logins()
    # Each child in a session of its own: Ctrl-C reaches only this script, which stops each child once with
    # SIGTERM. (Sent to the whole group as well, the second signal made beat print a traceback while it exited.)
    # The handlers are in place before the first child starts, so no signal can leave a child behind.
    processes = {}
    stopping = False

    def stop(*_args):
        nonlocal stopping
        if stopping:  # a second Ctrl-C while stopping: the children have had their SIGTERM already
            return
        stopping = True
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its whole group: Celery's pool processes too
                process.wait()
        sys.exit(0)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal was closed
        signal.signal(signum, stop)
    try:
        for name, cmd in commands.items():
            # The web process warms up before it serves (grants.warmup); the worker and beat need no templates.
            child_env = dict(env, GRANTS_WARM_UP="1") if name == "web" else env
            processes[name] = subprocess.Popen(cmd, cwd=ROOT, env=child_env, start_new_session=True)
    except BaseException:
        stop()
        raise
    time.sleep(2)
    stopped = "web app, worker, beat and local OpenID provider" if local_provider else "web app, worker and beat"
    print(f"\n  grants is running at http://{host}:{port}/  (Ctrl-C stops the {stopped})\n")
    print(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, where in logins:
        print(f"    {email:32} {role:11} {where}")
    print("\n  IMDi staff also type a code from an authenticator app after the password. Scan this QR code with the")
    print("  app on your phone (one entry serves every demo IMDi login), or type the key by hand:")
    print(f"    key {DEMO_TOTP_SECRET}   ({demo_totp_uri()})")
    print_qr(demo_totp_uri())
    print("  Without a phone: `.venv/bin/flask grants demo-code` prints the code of the moment.")
    print("  Without SMTP settings, e-mails are kept on the Outbox page (admin) and in instance/mail/.\n")
    if local_provider:
        print(local_provider_help(host, port, provider_port))
    while True:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} stopped with code {process.returncode}; stopping the rest")
                stop()
        time.sleep(1)


# --- the local OpenID provider ----------------------------------------------------------------------------------
# Made-up people only. The Ansattporten person acts for Oslo kommune, by the organisation number the register
# gives it (grants/data/organisation_numbers.csv), so that a first sign-in finds the kommune as a real one would.
DEMO_ORGANISATION = read_organisation_numbers()["0301"]
DEMO_PEOPLE = [
    {"sub": "demo-idporten-person", "pid": "demo-pid-1", "name": "Demo Person (ID-porten)"},
    {"sub": "demo-ansattporten-person", "pid": "demo-pid-2", "name": "Demo Ansatt (Ansattporten)",
     "email": "demo.ansatt@kommune.example",
     "authorization_details": [{"type": "ansattporten:altinn:resource", "resource": "urn:altinn:resource:demo",
                                "reportees": [{"Rights": ["read"], "Authority": "iso6523-actorid-upis",
                                               "ID": f"0192:{DEMO_ORGANISATION}", "Name": "OSLO KOMMUNE"}]}]},
]


def local_provider_wanted(environ):
    """A local provider unless a real one is configured or DEMO_OIDC=0."""
    if environ.get("DEMO_OIDC", "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    return not (environ.get("OIDC_IDPORTEN_CLIENT_ID") or environ.get("OIDC_ANSATTPORTEN_CLIENT_ID"))


def local_provider_settings(provider_port):
    """The app's settings for both providers pointing at the local one (the mock takes any client and secret)."""
    metadata = f"http://127.0.0.1:{provider_port}/.well-known/openid-configuration"
    settings = {}
    for name in ("IDPORTEN", "ANSATTPORTEN"):
        settings[f"OIDC_{name}_METADATA_URL"] = metadata
        settings[f"OIDC_{name}_CLIENT_ID"] = f"grants-demo-{name.lower()}"
        settings[f"OIDC_{name}_CLIENT_SECRET"] = "demo-only"
    settings["OIDC_ANSATTPORTEN_SCOPES"] = "openid profile email"
    return settings


def local_provider_command(provider_port):
    command = [str(BIN / "oidc-provider-mock"), "--host", "127.0.0.1", "--port", str(provider_port),
               "--require-nonce"]
    for person in DEMO_PEOPLE:
        command += ["--user-claims", json.dumps(person)]
    return command


def local_provider_help(host, port, provider_port):
    return (
        f"  ID-porten and Ansattporten are played by a local OpenID provider at http://127.0.0.1:{provider_port}/\n"
        "  (oidc-provider-mock: its login page lets you pick or type any person). To try them:\n"
        "    ID-porten: log in as a kommune's administrator (e.g. oslo@kommune.example), go to Colleagues >\n"
        "      Invite a colleague, open the link in the invitation e-mail (Outbox, or instance/mail/), then\n"
        "      'Log in with ID-porten' and choose demo-idporten-person. Without an invitation you are told to\n"
        "      ask your kommune for one.\n"
        f"    Ansattporten: on http://{host}:{port}/konto/logg-inn choose 'Log in with Ansattporten' and\n"
        f"      demo-ansattporten-person, who acts for Oslo kommune (organisation number {DEMO_ORGANISATION});\n"
        "      then oslo@kommune.example approves the new user under Colleagues.\n"
        "  Set DEMO_OIDC=0 to run without it.\n"
    )


if __name__ == "__main__":
    main()
