"""`make run`: the web app, a Celery worker and beat together; prints the address and the demo logins.

Ctrl-C stops all three.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))  # config.py and grants/ sit at the root; this script runs from tools/


def print_qr(uri):
    """The demo's app key as a QR code drawn in the terminal (segno), for a phone's authenticator app to scan."""
    import segno

    segno.make(uri, error="m").terminal(compact=True)


def main():
    instance = Path(os.environ.get("GRANTS_INSTANCE_DIR", ROOT / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, FLASK_APP="wsgi", PYTHONUNBUFFERED="1")
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "5000")
    commands = {
        "web": [str(BIN / "flask"), "run", "--host", host, "--port", port, "--no-reload"],
        "worker": [str(BIN / "celery"), "-A", "make_celery", "worker", "--loglevel", "INFO",
                   "-Q", "default,mail,heavy", "--concurrency", "2"],
        "beat": [str(BIN / "celery"), "-A", "make_celery", "beat", "--loglevel", "INFO",
                 "--schedule", str(instance / "celerybeat-schedule")],
    }
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
    print(f"\n  grants is running at http://{host}:{port}/  (Ctrl-C stops the web app, worker and beat)\n")
    print(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, where in logins:
        print(f"    {email:32} {role:11} {where}")
    print("\n  IMDi staff also type a code from an authenticator app after the password. Scan this QR code with the")
    print("  app on your phone (one entry serves every demo IMDi login), or type the key by hand:")
    print(f"    key {DEMO_TOTP_SECRET}   ({demo_totp_uri()})")
    print_qr(demo_totp_uri())
    print("  Without a phone: `.venv/bin/flask grants demo-code` prints the code of the moment.")
    print("  Without SMTP settings, e-mails are kept on the Outbox page (admin) and in instance/mail/.\n")
    while True:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} stopped with code {process.returncode}; stopping the rest")
                stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
