"""Organizations, their people and what they own.

A *managed user* is a user with a Membership; a user has at most one (OneToOne).
"""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils.translation import gettext_lazy as _

from console import clock
from console.idn import ascii_name


def email_domain_of(email: str) -> str:
    """The normalised domain of an e-mail address: lower case, punycode, no trailing dot, by the
    same IDNA 2008 / UTS #46 rules as domain names (x@faß.de is at xn--fa-hia.de, the name that
    gets verified, not IDNA 2003's fass.de). Text that is no valid name is only lower-cased."""
    _, _, domain = (email or "").strip().rpartition("@")
    return ascii_name(domain)


def normalise_email(email: str) -> str:
    """Keep the local part as typed; normalise the domain part."""
    local, _, _domain = (email or "").strip().rpartition("@")
    domain = email_domain_of(email)
    return f"{local}@{domain}" if local and domain else (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalise_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("email_verified", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("e-mail address"), unique=True)
    # Indexed so "users at a domain" is an index range scan, never LIKE '%@domain'.
    email_domain = models.CharField(max_length=253, db_index=True, editable=False)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    email_verified = models.BooleanField(_("e-mail verified"), default=False)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en")
    # Kept by the two-factor app whenever a factor is added or removed, so the sign-in gate and
    # the Users page know it from the row already loaded (no query per request).
    two_factor_enabled = models.BooleanField(_("two-factor authentication"), default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=clock.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def save(self, *args, **kwargs):
        self.email = normalise_email(self.email)
        self.email_domain = email_domain_of(self.email)
        if kwargs.get("update_fields") is not None and "email" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "email_domain"}
        super().save(*args, **kwargs)

    def __str__(self):
        return self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class Organization(models.Model):
    class Feature(models.TextChoices):
        BULK_USER_IMPORT = "bulk_user_import", _("Bulk User Import")

    name = models.CharField(max_length=200)
    # Gated features granted by staff, e.g. ["bulk_user_import"].
    features = models.JSONField(default=list, blank=True)
    # Two-factor policy. Off at the model level so existing organizations are not changed by
    # the migration; create_organization turns the first one on for every new organization.
    two_factor_required_for_admins = models.BooleanField(
        _("require two-factor authentication for Owners and Administrators"), default=False
    )
    two_factor_required_for_all = models.BooleanField(
        _("require two-factor authentication for all managed users"), default=False
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def has_feature(self, feature: str) -> bool:
        return feature in (self.features or [])

    def requires_two_factor(self, role: str) -> bool:
        """Whether this organization's policy requires a second factor of a member with `role`."""
        if self.two_factor_required_for_all:
            return True
        return self.two_factor_required_for_admins and role in Membership.ADMIN_ROLES


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMINISTRATOR = "administrator", _("Administrator")
        MEMBER = "member", _("Member")

    class JoinedVia(models.TextChoices):
        CREATED = "created", _("Created the organization")
        INVITED = "invited", _("Added by an administrator")
        IMPORTED = "imported", _("Bulk import")
        AUTO_ADDED = "auto_added", _("Added automatically at sign-up")
        ADDED_BACK = "added_back", _("Added back after re-verification")
        OPERATOR = "operator", _("Added by an operator")
        SSO = "sso", _("Added at their first single sign-on")

    ADMIN_ROLES = (Role.OWNER, Role.ADMINISTRATOR)

    # OneToOne: a user is a managed user of at most one organization.
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    # No index of its own: the (organization, role) index below answers every lookup by
    # organization, and each index is one more write per membership made.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    joined_via = models.CharField(max_length=20, choices=JoinedVia.choices, default=JoinedVia.INVITED)
    via_domain = models.CharField(max_length=253, blank=True, help_text="Domain through which the user joined.")
    joined_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role in self.ADMIN_ROLES


class Account(models.Model):
    """A workspace owned by a user; it belongs to at most one organization."""

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="accounts")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


class AuditEvent(models.Model):
    class ActorKind(models.TextChoices):
        USER = "user", _("User")
        SCHEDULE = "schedule", _("Schedule")
        OPERATOR = "operator", _("Operator")
        SYSTEM = "system", _("System")
        # An organization API token acting for the user in actor_user; detail["token"] names it.
        TOKEN = "token", _("API token")

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    created_at = models.DateTimeField(default=clock.now, db_index=True)
    actor_kind = models.CharField(max_length=20, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=60, db_index=True)  # e.g. "domain.verified"
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_repr}"


class TaskHeartbeatManager(models.Manager):
    def beat(self, name: str, now) -> None:
        """Record one run of the periodic task `name`."""
        if not self.filter(name=name).update(last_run_at=now, runs=models.F("runs") + 1):
            self.get_or_create(name=name, defaults={"last_run_at": now, "runs": 1})


class TaskHeartbeat(models.Model):
    """Last run of a periodic task: proves beat and a worker are alive (shown to staff)."""

    name = models.CharField(max_length=100, primary_key=True)
    last_run_at = models.DateTimeField()
    runs = models.PositiveBigIntegerField(default=0)

    objects = TaskHeartbeatManager()

    def __str__(self):
        return f"{self.name} @ {self.last_run_at:%Y-%m-%d %H:%M:%S}"


class OutboundEmailQuerySet(models.QuerySet):
    def claimable(self, now):
        """Queued, or being sent by a worker whose lease ran out (it died mid-send)."""
        return self.filter(
            models.Q(status=OutboundEmail.Status.QUEUED)
            | models.Q(status=OutboundEmail.Status.SENDING, lease_expires_at__lte=now)
        )

    def overdue(self, now, grace):
        """Claimable records no task is going to pick up: queued and due for longer than `grace`
        (their message was lost with the broker or a killed worker), or with an expired lease."""
        return self.filter(
            models.Q(status=OutboundEmail.Status.QUEUED, next_attempt_at__lte=now - grace)
            | models.Q(status=OutboundEmail.Status.SENDING, lease_expires_at__lte=now)
        )


class OutboundEmail(models.Model):
    """One e-mail to one recipient: written in the transaction that causes it, sent by the
    worker, rendered at send time in the recipient's language from `params` (ids and plain
    values, never secrets such as links with tokens)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    # The Message-ID header: the same on every attempt, so a receiver can drop a duplicate.
    message_id = models.CharField(max_length=255, unique=True)
    template = models.CharField(max_length=100)
    recipient = models.EmailField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    language = models.CharField(max_length=10, blank=True)  # when there is no user to ask
    params = models.JSONField(default=dict, blank=True)
    # What the e-mail is about, for the pages that show it (e.g. "imports.job:42").
    reference = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now, db_index=True)
    next_attempt_at = models.DateTimeField(default=clock.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    objects = OutboundEmailQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbound e-mail")
        verbose_name_plural = _("outbound e-mails")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["reference", "status"]),
        ]

    def __str__(self):
        return f"{self.template} to {self.recipient} ({self.status})"
