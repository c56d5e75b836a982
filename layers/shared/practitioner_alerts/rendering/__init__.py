"""Pure message rendering: what an alert says by SMS, by e-mail and in the in-calendar feed.

No boto3, no environment and no clock: the same alert always renders to the same text, in the
calendar's language and time zone.
"""

from practitioner_alerts.rendering.headline import render_headline
from practitioner_alerts.rendering.mail import Email, render_email
from practitioner_alerts.rendering.sms import SmsSegments, count_segments, render_digest, render_sms

__all__ = [
    "Email",
    "SmsSegments",
    "count_segments",
    "render_digest",
    "render_email",
    "render_headline",
    "render_sms",
]
