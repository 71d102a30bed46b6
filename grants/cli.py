"""`flask grants ...` commands. Thin: parse arguments, call one operation, commit."""

import click
from flask import Flask
from flask.cli import AppGroup

from grants.extensions import db

grants_cli = AppGroup("grants", help="Grants administration commands.")


@grants_cli.command("import-municipalities")
def import_municipalities_command():
    """Load the 357 kommuner and 15 counties (safe to run again)."""
    from grants.accounts.register import import_municipalities, import_organisation_numbers

    created, updated = import_municipalities()
    numbered = import_organisation_numbers()
    db.session.commit()
    click.echo(f"municipalities: {created} created, {updated} updated; organisation numbers: {numbered} given")


@grants_cli.command("seed-demo")
def seed_demo_command():
    """Load the demo data once: users, the 2024 and 2025 rounds and a round open now."""
    from grants.demo import seed_demo

    report = seed_demo()
    db.session.commit()
    click.echo(report)


@grants_cli.command("demo-code")
def demo_code_command():
    """Print the code the demo's IMDi staff type after their password now (the demo's shared app key)."""
    from grants.demo import demo_code

    code, left = demo_code()
    click.echo(f"{code}  (new code in {left} s)")


@grants_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["caseworker", "reviewer", "approver", "admin"]), required=True)
@click.option("--language", type=click.Choice(["nb", "nn", "en"]), default="nb")
@click.password_option()
def create_user_command(email, name, role, language, password):
    """Create an IMDi user (active at once)."""
    from grants.accounts.operations import create_staff_user
    from grants.errors import ValidationFailed

    try:
        user = create_staff_user(email=email, name=name, password=password, role=role, language=language)
    except ValidationFailed as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"created {user.email} ({user.role})")


@grants_cli.command("send-due")
def send_due_command():
    """Schedule due reminders and hand every due notice to the workers (what beat does)."""
    from grants.notify.tasks import sweep_outbox
    from grants.reminders import schedule_notices

    created = schedule_notices.run()
    handed = sweep_outbox.run()
    click.echo(f"scheduled {created}, dispatched {handed}")


def register_cli(app: Flask):
    app.cli.add_command(grants_cli)
