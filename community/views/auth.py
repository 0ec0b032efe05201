"""Sign up, log in, log out (this browser, or everywhere)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from community.extensions import limiter
from community.security import login_failures_by_account, login_failures_by_address, rate_limit_key
from community.services import accounts, sessions
from community.services.errors import DomainError
from community.views.forms import LoginForm, SignupForm, field_error

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only follow local paths after log-in, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("threads.home")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGNUP"], methods=["POST"], key_func=rate_limit_key)
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = accounts.register(form.username.data, form.email.data, form.password.data)
        except DomainError as exc:
            field_error(form, exc)
        else:
            login_user(sessions.open_session(user))
            flash(f"Welcome, {user.username}!", "success")
            return redirect(url_for("threads.home"))
    return render_template("auth/signup.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
@login_failures_by_address
@login_failures_by_account
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.username.data, form.password.data)
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            login_user(sessions.open_session(user), remember=form.remember.data)
            return redirect(_safe_next(form.next.data))
    status = 422 if (form.errors or form.form_errors) else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    # CSRFProtect has already checked the token for this POST.
    if current_user.is_authenticated:
        sessions.close_session(current_user)
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("threads.home"))


@bp.post("/logout/everywhere")
def logout_everywhere():
    """End every session of the account: other browsers, and cookies copied from this one."""
    if current_user.is_authenticated:
        ended = sessions.close_all(current_user)
        logout_user()
        flash(f"You are logged out everywhere ({ended} session{'s' if ended != 1 else ''}).",
              "info")
    return redirect(url_for("threads.home"))
