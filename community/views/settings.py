"""Account pages: the settings page (profile, account, notification email, avatar), password
reset from the log-in page, and the email-verification landing."""

from __future__ import annotations

from flask import (Blueprint, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_login import current_user, login_required, logout_user

from community.security import (current_actor, password_checks, password_reset_by_address,
                                password_reset_by_email, verification_limit)
from community.services import account_recovery, avatars, leaving, profiles
from community.services.errors import Conflict, Invalid
from community.views.forms import (AccountForm, ActionForm, AvatarForm, DeleteAccountForm,
                                   EmailModeForm, ProfileForm, ResetPasswordForm,
                                   ResetRequestForm, checked, field_error)

bp = Blueprint("settings", __name__)

RESET_SENT = ("If an account has that address, we have sent it a link to reset its password. "
              "It works for a limited time, and once.")


def _forms(actor, **given):
    """Every form of the settings page, filled from the account unless posted."""
    forms = {
        "profile_form": ProfileForm(obj=actor, formdata=None),
        "account_form": AccountForm(email=actor.email, formdata=None),
        "mode_form": EmailModeForm(email_notifications=actor.email_notifications, formdata=None),
        "avatar_form": AvatarForm(formdata=None),
        "action_form": ActionForm(formdata=None),
        "delete_form": DeleteAccountForm(formdata=None),
    }
    forms.update(given)
    return forms


def _page(actor, status: int = 200, **given):
    return render_template("settings/index.html", user=actor, has_upload=avatars.has_upload(actor),
                           **_forms(actor, **given)), status


@bp.get("/settings")
@login_required
def index():
    return _page(current_actor())


def _save(form, form_name: str, changes_of, done: str):
    """Validate a settings form, hand its changes to profiles.update, or show it again."""
    actor = current_actor()
    if form.validate_on_submit():
        try:
            profiles.update(actor, changes_of(form))
        except (Invalid, Conflict) as exc:
            field_error(form, exc)
        else:
            flash(done, "success")
            return redirect(url_for("settings.index"))
    return _page(actor, 422, **{form_name: form})


@bp.post("/settings/profile")
@login_required
def profile():
    return _save(ProfileForm(), "profile_form", lambda f: {
        name: getattr(f, name).data or "" for name in profiles.PROFILE_FIELDS},
        "Your profile is saved.")


@bp.post("/settings/account")
@login_required
@password_checks
def account():
    def changes(form):
        wanted = {"email": form.email.data, "current_password": form.current_password.data}
        if form.password.data:
            wanted["password"] = form.password.data
        return wanted
    return _save(AccountForm(), "account_form", changes, "Your account is saved.")


@bp.post("/settings/notifications")
@login_required
def notification_email():
    return _save(EmailModeForm(), "mode_form",
                 lambda f: {"email_notifications": f.email_notifications.data},
                 "Your notification email choice is saved.")


@bp.post("/settings/avatar")
@login_required
def avatar():
    actor = current_actor()
    # Photos are larger than other requests may be; the service checks the real limit.
    request.max_content_length = max(current_app.config["MAX_CONTENT_LENGTH"] or 0,
                                     current_app.config["AVATAR_MAX_BYTES"] + 64 * 1024)
    form = AvatarForm()
    if form.validate_on_submit():
        try:
            avatars.set_upload(actor, form.avatar.data.read())
        except Invalid as exc:
            field_error(form, exc)
        else:
            flash("Your picture is saved.", "success")
            return redirect(url_for("settings.index"))
    return _page(actor, 422, avatar_form=form)


@bp.post("/settings/avatar/remove")
@login_required
def remove_avatar():
    checked()
    avatars.remove_upload(current_actor())
    flash("Your picture is removed; the generated one is back.", "success")
    return redirect(url_for("settings.index"))


@bp.get("/settings/export")
@login_required
def export():
    """Download my data, as the API's GET /me/export gives it."""
    return jsonify(leaving.export(current_actor())), 200, {
        "Content-Disposition": 'attachment; filename="my-data.json"'}


@bp.post("/settings/delete")
@login_required
@password_checks
def delete_account():
    actor, form = current_actor(), DeleteAccountForm()
    if form.validate_on_submit():
        try:
            leaving.delete_account(actor, form.delete_password.data)
        except Invalid as exc:
            form.delete_password.errors = [*form.delete_password.errors, exc.message]
        else:
            logout_user()
            flash("Your account is deleted. Thank you for helping here.", "info")
            return redirect(url_for("threads.home"))
    return _page(actor, 422, delete_form=form)


@bp.post("/settings/verify-email")
@login_required
@verification_limit
def resend_verification():
    checked()
    account_recovery.request_verification(current_actor())
    flash(f"We sent a new link to {current_user.email}.", "success")
    return redirect(request.referrer if _local(request.referrer) else url_for("settings.index"))


def _local(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


@bp.get("/verify-email/<token>")
def verify_email(token: str):
    """Opening the link verifies the address (proof that the mailbox got it)."""
    user = account_recovery.verify_email(token)
    response = render_template("settings/verified.html", user=user)
    return response, 200, {"Referrer-Policy": "no-referrer"}


@bp.route("/password-reset", methods=["GET", "POST"])
@password_reset_by_address
@password_reset_by_email
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
        try:
            account_recovery.request_reset(form.email.data)
        except Invalid as exc:
            field_error(form, exc)
        else:
            return render_template("settings/reset_sent.html", message=RESET_SENT)
    return (render_template("settings/forgot.html", form=form),
            422 if form.errors else 200)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """The link from the email: a form for the new password while the link works."""
    account_recovery.check_reset(token)  # a dead link is an error page, not a form
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            account_recovery.reset_password(token, form.password.data)
        except Invalid as exc:
            if exc.field == "token":
                raise
            field_error(form, exc)
        else:
            flash("Your password is changed, and every session and API token of the account "
                  "has ended. Log in with the new password.", "success")
            return redirect(url_for("auth.login"))
    page = render_template("settings/reset.html", form=form, token=token)
    # The token is in this page's address: never send it on to another site.
    return page, 422 if form.errors else 200, {"Referrer-Policy": "no-referrer"}
