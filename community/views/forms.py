"""Flask-WTF forms: the shape of each form and its CSRF token. Rules live in services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, EmailField, HiddenField, IntegerField, PasswordField,
                     RadioField, SelectField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import HiddenInput
from wtforms.validators import AnyOf, DataRequired, EqualTo, InputRequired, Optional

from community.services.errors import Invalid


def field_error(form: FlaskForm, exc) -> None:
    """Show a service's Invalid/Conflict error beside the field it names, or above the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


class SignupForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()],
                           description="3 to 32 letters, digits, dots, dashes or underscores.")
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()],
                             description="At least 8 characters.")
    confirm = PasswordField("Repeat password", validators=[
        DataRequired(), EqualTo("password", message="The passwords differ.")])


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me logged in")
    next = HiddenField()


class AskForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired()],
                        description="Your question in one sentence, 8 to 200 characters.")
    body = TextAreaField("Details", validators=[DataRequired()],
                         description="What happened, what you tried. Markdown works.")
    tags = StringField("Tags", validators=[DataRequired()],
                       description="1 to 5 tags separated by spaces, e.g. roaming esim.")


class AnswerForm(FlaskForm):
    body = TextAreaField("Your answer", validators=[DataRequired()],
                         description="Markdown works.")


class CommentForm(FlaskForm):
    body = TextAreaField("Comment", validators=[DataRequired()])


class EditForm(FlaskForm):
    title = StringField("Title", validators=[Optional()])
    tags = StringField("Tags", validators=[Optional()])
    body = TextAreaField("Text", validators=[DataRequired()])
    summary = StringField("Edit summary", validators=[Optional()],
                          description="What you changed and why (optional).")


class AcceptForm(FlaskForm):
    post_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class VoteForm(FlaskForm):
    value = StringField(validators=[InputRequired(), AnyOf(["1", "0", "-1"])])


class ActionForm(FlaskForm):
    """A button that only needs a CSRF token: log out, endorse, unaccept."""


def checked(form: FlaskForm | None = None) -> FlaskForm:
    """The posted form (an ActionForm when none is given) once it validates; Invalid otherwise,
    named after its first field in error (a button's only field is its CSRF token)."""
    form = form if form is not None else ActionForm()
    if not form.validate_on_submit():
        field = next(iter(form.errors), "csrf_token")
        if field == "csrf_token":
            raise Invalid(field, "csrf.invalid", "The form expired; reload and try again.")
        raise Invalid(field, f"{field}.invalid", "Check the form and try again.")
    return form


class ThreadModerationForm(FlaskForm):
    """A moderator locks (reason), closes as a duplicate (of) or merges (into) a thread."""

    reason = StringField("Reason", validators=[Optional()])
    of = IntegerField("Duplicate of thread #", validators=[Optional()])
    into = IntegerField("Merge into thread #", validators=[Optional()])


class NotificationSettingsForm(FlaskForm):
    # Plain values (the template words them): newer WTForms deprecates (value, label) tuples.
    email = RadioField("Email me about notifications", validators=[InputRequired()],
                       choices=["immediately", "daily", "never"])


class ChannelForm(FlaskForm):
    kind = SelectField("Kind", validators=[InputRequired()], choices=[
        SelectChoice("whatsapp", "WhatsApp Cloud API"), SelectChoice("messenger", "Messenger"),
        SelectChoice("instagram", "Instagram"), SelectChoice("telegram", "Telegram"),
        SelectChoice("x", "X"), SelectChoice("mastodon", "Mastodon"),
        SelectChoice("generic", "Generic signed webhook")])
    slug = StringField("Slug", validators=[DataRequired()],
                       description="Part of the webhook address: /bridge/<slug>/webhook.")
    name = StringField("Name", validators=[Optional()])
    settings = TextAreaField("Settings", validators=[Optional()],
                             description="One name=value per line; each kind lists its settings.")


class ChannelChangeForm(FlaskForm):
    enabled = BooleanField("Takes webhooks and sends replies")
    settings = TextAreaField("Settings to change", validators=[Optional()],
                             description="One name=value per line, only those to change (a new "
                                         "secret, say); name= removes an optional setting.")


class SuspendForm(FlaskForm):
    """A moderator suspends a user (profile page); an empty `until` means no end date."""

    until = StringField("Until (YYYY-MM-DD, UTC)", validators=[Optional()])
    reason = TextAreaField("Reason (the user is told)", validators=[DataRequired()])


class FlagForm(FlaskForm):
    """A member flags a post or comment (the reason's choices are checked by the service)."""

    reason = StringField("Reason", validators=[InputRequired()])
    detail = TextAreaField("Anything moderators should know", validators=[Optional()])
    duplicate_of = IntegerField("Duplicate of thread #", validators=[Optional()])


class ModerationForm(FlaskForm):
    """A moderator hides or restores content (reason), or resolves flags (outcome, note, hide)."""

    reason = StringField("Reason", validators=[Optional()])
    outcome = StringField(validators=[Optional()])
    note = TextAreaField("Note", validators=[Optional()])
    hide = BooleanField("Hide it too")


# ---- accounts (views/settings.py): reset, profile, account, avatar -----------------------------

class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()],
                       description="The address of your account.")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired()],
                             description="At least 8 characters.")
    confirm = PasswordField("Repeat new password", validators=[
        DataRequired(), EqualTo("password", message="The passwords differ.")])


class ProfileForm(FlaskForm):
    display_name = StringField("Display name", validators=[Optional()],
                               description="Shown on your profile; up to 64 characters.")
    bio = TextAreaField("About you", validators=[Optional()],
                        description="Markdown works; up to 2,000 characters.")
    location = StringField("Location", validators=[Optional()])
    website = StringField("Website", validators=[Optional()],
                          description="An address starting with https://.")


class AccountForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()],
                       description="A new address stays unverified until you open the link "
                                   "we send to it.")
    password = PasswordField("New password", validators=[Optional()],
                             description="Leave empty to keep your password.")
    confirm = PasswordField("Repeat new password", validators=[
        EqualTo("password", message="The passwords differ.")])
    current_password = PasswordField("Current password", validators=[Optional()],
                                     description="Needed to change your email or password.")


class EmailModeForm(FlaskForm):
    email_notifications = RadioField("Email me about notifications",
                                     validators=[InputRequired()],
                                     choices=["immediately", "daily", "never"])


class AvatarForm(FlaskForm):
    avatar = FileField("Upload a picture", validators=[FileRequired("Choose an image.")],
                       description="PNG, JPEG or WebP; we crop it to a square.")


class DeleteAccountForm(FlaskForm):
    # Not `password`: the settings page also has the account form's new-password field.
    delete_password = PasswordField("Your password", validators=[DataRequired()],
                             description="Your questions and answers stay, shown as by "
                                         "“a former member”; everything else about you goes.")
