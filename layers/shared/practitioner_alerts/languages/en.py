"""English: everything the alerts and the settings say.

Spelling is British (the practices are in Europe); dates and times follow the calendar's
locale, en-GB (9 September, 14:00) or en-US (September 9, 2:00 PM), which Babel supplies.
Straight apostrophes throughout: Babel's English names contain none to match.
"""

from __future__ import annotations

from practitioner_alerts.languages.wording import (
    Language,
    PerChange,
    PerKind,
    SettingsAdvice,
    VerificationWording,
    Wording,
)

ENGLISH = Language(
    alerts=Wording(
        headlines=PerKind(
            booked="New online booking: {patient}, {when}",
            cancelled="Short-notice cancellation: {patient}, {when}",
            rescheduled="Appointment moved: {patient}, from {previous} to {when}",
            test="Test message: alerts for {calendar} are active.",
        ),
        headlines_unnamed=PerKind(
            booked="New online booking (no name given): {when}",
            cancelled="Short-notice cancellation (no name given): {when}",
            rescheduled="Appointment moved (no name given): from {previous} to {when}",
            test="Test message: alerts for {calendar} are active.",
        ),
        intros=PerKind(
            booked="A new appointment was booked online in {calendar}.",
            cancelled="An appointment in {calendar} was cancelled online at short notice.",
            rescheduled="An appointment in {calendar} was moved online at short notice.",
            test="This is a test message: alerts for {calendar} are active.",
        ),
        calendar_named="{name}'s calendar",
        calendar_unnamed="calendar {name}",
        patient="{initial}. {surname}",
        first_name_only="{initial}. (no surname given)",
        no_name="(no name given)",
        date_at_time="{date} at {time}",
        label_separator=": ",
        greeting="Hello,",
        test_note=(
            "If you found this e-mail in your spam folder, please mark it as “not spam” so that "
            "future alerts reach your inbox."
        ),
        label_patient="Patient",
        label_appointment="Appointment",
        label_new_time="New time",
        label_previous_time="Previous time",
        label_visit_motive="Reason for visit",
        label_time_zone="Time zone",
        footer=(
            "You are receiving this message because this e-mail address is set up for alerts from "
            "{calendar}. To stop these e-mails, delete the address in the calendar's alert settings."
        ),
        digest_one=PerChange(
            booked="1 more online booking",
            cancelled="1 more short-notice cancellation",
            rescheduled="1 more appointment moved",
        ),
        digest_many=PerChange(
            booked="{count} more online bookings",
            cancelled="{count} more short-notice cancellations",
            rescheduled="{count} more appointments moved",
        ),
    ),
    verification=VerificationWording(
        sms=(
            "{product}: code {code} confirms this number for calendar {calendar}. Valid {minutes} min. "
            "Not you? Ignore this SMS."
        ),
        subject="{product}: your confirmation code {code}",
        intro="This e-mail address was entered for alerts from calendar {calendar}.",
        label_code="Confirmation code",
        how_to=(
            "Enter the code in the calendar's alert settings. It is valid for {minutes} minutes. "
            "Only then will alerts be sent to this address."
        ),
        not_you=(
            "If this was not you, ignore this e-mail: without the code, no alert is sent to this address."
        ),
        footer="This message was sent automatically by {product}.",
    ),
    advice=SettingsAdvice(
        spam_prone_mailbox=(
            "E-mails to Hotmail, Outlook and Live addresses sometimes end up in the spam folder. "
            "Check it, or use a different address."
        ),
        no_contact=(
            "Neither an e-mail address nor a mobile number is set. Alerts appear in the calendar only."
        ),
        mobile_not_verified=(
            "The mobile number is not confirmed yet. Enter the code from the SMS; until then no "
            "alerts are sent by SMS."
        ),
        email_not_verified=(
            "The e-mail address is not confirmed yet. Enter the code from the e-mail; until then no "
            "alerts are sent by e-mail."
        ),
        verification_not_sent=(
            "No confirmation code could be sent just now. Request a new one in a few minutes."
        ),
        visit_motive_in_email=(
            "The reason for the visit is health information. Switch it on for e-mails only if no one but "
            "you and your practice team can read this mailbox. It is never sent by SMS."
        ),
    ),
)
