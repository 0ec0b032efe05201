"""Our commands of the `community` command line (community/__main__.py binds them to the app)."""

from __future__ import annotations

import click
from flask import Flask

from community.models.bridge import CHANNEL_KINDS
from community.services import accounts, bridge, demo, reputation
from community.services import audit as audit_service
from community.services import webhooks as webhook_service
from community.services import search as search_service
from community.services import triage as triage_service
from community.services.errors import DomainError
from community.services.moderation import suspensions
from community.workers import bridge as bridge_workers
from community.workers import mailer
from community.workers import webhooks as webhook_workers

users = click.Group("users", help="Manage user accounts.")


@users.command("create")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["member", "staff", "moderator", "admin"]),
              default="member", show_default=True)
def create_user(username: str, email: str, password: str, role: str) -> None:
    """Create an account, e.g. a staff member: users create NAME --email E --role staff."""
    try:
        user = accounts.register(username, email, password, role=role, verified=True)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    click.echo(f"Created {user.role} {user.username} (id {user.id}).")


@users.command("suspend")
@click.argument("username")
@click.option("--until", "until", metavar="DATE", help="ISO date or datetime (UTC) it ends.")
@click.option("--indefinitely", is_flag=True, help="No end date.")
@click.option("--reason", required=True, help="Why; the user is told.")
def suspend_user(username: str, until: str | None, indefinitely: bool, reason: str) -> None:
    """Suspend an account: users suspend NAME --until 2030-01-31 --reason R (or --indefinitely)."""
    if (until is None) == (not indefinitely):
        raise click.UsageError("Give exactly one of --until DATE and --indefinitely.")
    try:
        user = suspensions.suspend(None, suspensions.user_by_name(username),
                                   None if indefinitely else suspensions.parse_until(until), reason)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    click.echo(f"Suspended {user.username} (id {user.id}) " +
               ("with no end date." if indefinitely else f"until {user.suspended_until:%Y-%m-%d %H:%M} UTC."))


@users.command("unsuspend")
@click.argument("username")
def unsuspend_user(username: str) -> None:
    """End an account's suspension now."""
    try:
        user = suspensions.unsuspend(None, suspensions.user_by_name(username))
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    click.echo(f"Unsuspended {user.username} (id {user.id}).")


demo_group = click.Group("demo", help="Demo data.")


@demo_group.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def load_demo(if_empty: bool) -> None:
    """Load the Kestrel Mobile demo community (users share the password kestrel-demo)."""
    if not demo.is_empty():
        if if_empty:
            click.echo("Database already has users; demo data not loaded.")
            return
        raise click.ClickException("The database already has users; demo data goes into an empty one.")
    counts = demo.load()
    click.echo("Loaded demo data: " + ", ".join(f"{n} {what}" for what, n in counts.items()) +
               f". Every demo user's password is {demo.DEMO_PASSWORD!r}.")


reputation_group = click.Group("reputation", help="Audit the reputation ledger.")


@reputation_group.command("check")
def check_reputation() -> None:
    """Recompute every total from the ledger; exit 1 if any cached total differs."""
    wrong = reputation.differences()
    for user, cached, ledger in wrong:
        click.echo(f"{user.username} (id {user.id}): cached {cached}, ledger {ledger}")
    if wrong:
        raise SystemExit(1)
    click.echo("Every cached reputation total matches the ledger.")


@reputation_group.command("recompute")
def recompute_reputation() -> None:
    """Repair cached totals from the ledger."""
    click.echo(f"Repaired {reputation.recompute()} user(s).")


search_group = click.Group("search", help="The search index.")


@search_group.command("rebuild")
def rebuild_search() -> None:
    """Rebuild the search index from the database."""
    total = search_service.count_documents()
    with click.progressbar(length=total, label="Indexing threads") as bar:
        count = search_service.rebuild(progress=bar.update)
    click.echo(f"Indexed {count} threads.")


@search_group.command("check")
def check_search() -> None:
    """Compare the index with the database; exit 1 on any drift."""
    drift = search_service.check()
    for label, ids in (("missing from the index", drift.missing),
                       ("in the index but not visible in the database", drift.extra),
                       ("out of date in the index", drift.stale)):
        if ids:
            shown = ", ".join(map(str, ids[:20])) + (" ..." if len(ids) > 20 else "")
            click.echo(f"{len(ids)} thread(s) {label}: {shown}")
    if not drift.clean:
        raise SystemExit(1)
    click.echo("The search index matches the database.")


notifications_group = click.Group("notifications", help="Notification email.")


@notifications_group.command("digest")
def send_digest() -> None:
    """Email each daily-digest user their unread notifications not emailed yet (run daily)."""
    try:
        sent, failed = mailer.send_digests()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Sent {sent} digest(s)" + (f"; {failed} failed (kept for the next run)."
                                           if failed else "."))
    if failed:
        raise SystemExit(1)


bridge_group = click.Group("bridge", help="The social bridge: channels and the outbox worker.")


@bridge_group.command("add-channel")
@click.option("--kind", required=True, type=click.Choice(CHANNEL_KINDS))
@click.option("--slug", required=True, help="Webhooks arrive at /bridge/<slug>/webhook.")
@click.option("--name", default="", help="Shown to staff; defaults to the kind and slug.")
@click.option("--setting", "settings", multiple=True, metavar="NAME=VALUE",
              help="Repeat for each setting the kind needs (see `community bridge kinds`).")
def add_channel(kind: str, slug: str, name: str, settings: tuple[str, ...]) -> None:
    """Configure a channel, e.g. --kind whatsapp --slug wa --setting app_secret=..."""
    try:
        channel = bridge.add_channel(None, kind, slug, bridge.parse_settings(settings), name=name)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    click.echo(f"Added {channel.kind} channel {channel.slug}; webhooks go to "
               f"{bridge.webhook_link(channel)}")
    for key, value in bridge.masked_settings(channel).items():
        click.echo(f"  {key} = {value}")


@bridge_group.command("change-channel")
@click.argument("slug")
@click.option("--setting", "settings", multiple=True, metavar="NAME=VALUE",
              help="A setting to replace; NAME= removes an optional one. Repeat for each.")
@click.option("--enable/--disable", "enabled", default=None,
              help="Turn the channel on, or off (its webhooks then answer 404).")
def change_channel(slug: str, settings: tuple[str, ...], enabled: bool | None) -> None:
    """Rotate a channel's secrets, change its settings, or turn it off or on."""
    if not settings and enabled is None:
        raise click.UsageError("Give --setting, --enable or --disable.")
    try:
        channel = bridge.change_channel(None, slug, settings=bridge.parse_settings(settings),
                                        enabled=enabled)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    state = "enabled" if channel.is_enabled else "disabled"
    click.echo(f"Changed {channel.kind} channel {channel.slug} ({state})")
    for key, value in bridge.masked_settings(channel).items():
        click.echo(f"  {key} = {value}")


@bridge_group.command("channels")
def list_channels() -> None:
    """List channels with their settings (secrets masked)."""
    for channel in bridge.channels(None):
        state = "" if channel.is_enabled else " (disabled)"
        click.echo(f"{channel.slug}: {channel.kind}, {channel.name}{state}")
        for key, value in bridge.masked_settings(channel).items():
            click.echo(f"  {key} = {value}")


@bridge_group.command("kinds")
def list_kinds() -> None:
    """The settings each kind of channel takes."""
    for kind in CHANNEL_KINDS:
        click.echo(kind)
        for spec in bridge.setting_specs(kind):
            notes = [] if spec.required else ["optional" + (f", default {spec.default}"
                                                            if spec.default else "")]
            notes += ["secret"] if spec.secret else []
            click.echo(f"  {spec.name}{' (' + '; '.join(notes) + ')' if notes else ''}: {spec.help}")


@bridge_group.command("worker")
@click.option("--once", is_flag=True, help="Send everything due (and poll due channels), then exit.")
def run_worker(once: bool) -> None:
    """Send owed replies and poll channels without push; runs until stopped."""
    if once:
        counts = bridge_workers.send_replies()
        click.echo(", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "Nothing due.")
        return
    click.echo("Bridge worker running; Ctrl+C stops it.")
    bridge_workers.run_sender_forever()


triage_group = click.Group("triage", help="The staff triage queue.")


@triage_group.command("rebuild")
@click.option("--all", "everything", is_flag=True,
              help="Every thread, not only those the queue has not seen yet.")
def rebuild_triage(everything: bool) -> None:
    """Place threads in the triage queue (those from before it existed, or bulk-loaded)."""
    count = triage_service.rebuild(everything=everything)
    click.echo(f"Looked at {count} threads.")


audit_group = click.Group("audit", help="The audit log of staff actions.")


@audit_group.command("list")
@click.option("--actor", default=None, help="Username or id of who acted.")
@click.option("--action", default=None, help="e.g. thread.lock, post.hide, user.suspend.")
@click.option("--since", default=None, metavar="YYYY-MM-DD", help="On or after this day (UTC).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def list_audit(actor: str | None, action: str | None, since: str | None, limit: int) -> None:
    """Audit entries, newest first: when, who, what, target, reason."""
    try:
        page = audit_service.search(None, actor=actor, action=action, since=since, limit=limit,
                                    command_line=True)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    for entry in page.items:
        who = entry.actor.username if entry.actor else "system"
        reason = f": {entry.reason}" if entry.reason else ""
        click.echo(f"{entry.created_at:%Y-%m-%d %H:%M} #{entry.id} {who} {entry.action} "
                   f"{entry.target_kind} {entry.target_id}{reason}")
    if not page.items:
        click.echo("No audit entries match.")


webhooks_group = click.Group("webhooks", help="Outbound webhooks and their delivery worker.")


@webhooks_group.command("add")
@click.argument("url")
@click.option("--event", "wanted", multiple=True, required=True, metavar="TYPE",
              help="Repeat for each event type (thread.created, answer.accepted, ...) or *.")
@click.option("--description", default="")
def add_webhook(url: str, wanted: tuple[str, ...], description: str) -> None:
    """Subscribe URL to events; prints the signing secret (shown this once)."""
    try:
        item = webhook_service.create(None, url, list(wanted), description)
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    click.echo(f"Added webhook {item.id}: {item.url} ({', '.join(item.events)})")
    click.echo(f"Secret (shown once): {item.secret}")


@webhooks_group.command("list")
def list_webhooks() -> None:
    """Subscriptions: id, state, URL, events."""
    items = webhook_service.subscriptions(None)
    for item in items:
        state = "enabled" if item.is_enabled else "disabled"
        click.echo(f"{item.id} {state} {item.url} {','.join(item.events)}")
    if not items:
        click.echo("No webhooks.")


@webhooks_group.command("remove")
@click.argument("subscription_id", type=int)
def remove_webhook(subscription_id: int) -> None:
    """Delete a subscription and its delivery log."""
    try:
        webhook_service.delete(None, webhook_service.get(None, subscription_id))
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    click.echo(f"Removed webhook {subscription_id}.")


@webhooks_group.command("worker")
@click.option("--once", is_flag=True, help="Send everything due, then exit.")
def run_webhooks_worker(once: bool) -> None:
    """Send owed webhook deliveries; runs until stopped."""
    if once:
        counts = webhook_workers.send()
        click.echo(", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "Nothing due.")
        return
    click.echo("Webhooks worker running; Ctrl+C stops it.")
    webhook_workers.run_forever()


def init_app(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(demo_group)
    app.cli.add_command(reputation_group)
    app.cli.add_command(search_group)
    app.cli.add_command(notifications_group)
    app.cli.add_command(bridge_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(triage_group)
    app.cli.add_command(webhooks_group)
