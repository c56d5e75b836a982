"""Deutsch: alles, was die Benachrichtigungen und die Einstellungen sagen.

Sie-Form, neutrale Ansprache. "Patient/-in" nur als Feldbezeichnung; fehlt der Name, sagt die
Überschrift "(ohne Namen)" statt eines Platzhalters an der Stelle des Namens.
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

GERMAN = Language(
    alerts=Wording(
        headlines=PerKind(
            booked="Neuer Online-Termin: {patient}, {when}",
            cancelled="Kurzfristige Absage: {patient}, {when}",
            rescheduled="Termin verschoben: {patient}, von {previous} auf {when}",
            test="Testnachricht: Die Benachrichtigungen zum {calendar} sind aktiv.",
        ),
        headlines_unnamed=PerKind(
            booked="Neuer Online-Termin (ohne Namen): {when}",
            cancelled="Kurzfristige Absage (ohne Namen): {when}",
            rescheduled="Termin verschoben (ohne Namen): von {previous} auf {when}",
            test="Testnachricht: Die Benachrichtigungen zum {calendar} sind aktiv.",
        ),
        intros=PerKind(
            booked="Im {calendar} wurde online ein neuer Termin gebucht.",
            cancelled="Im {calendar} wurde ein Termin kurzfristig online abgesagt.",
            rescheduled="Im {calendar} wurde ein Termin kurzfristig online verschoben.",
            test="Dies ist eine Testnachricht: Die Benachrichtigungen zum {calendar} sind aktiv.",
        ),
        calendar_named="Kalender von {name}",
        calendar_unnamed="Kalender {name}",
        patient="{initial}. {surname}",
        first_name_only="{initial}. (ohne Nachnamen)",
        no_name="(kein Name angegeben)",
        date_at_time="{date} um {time} Uhr",
        label_separator=": ",
        greeting="Guten Tag,",
        test_note=(
            "Falls Sie diese E-Mail im Spam-Ordner gefunden haben, markieren Sie sie bitte als "
            "„Kein Spam“, damit künftige Benachrichtigungen in Ihrem Posteingang ankommen."
        ),
        label_patient="Patient/-in",
        label_appointment="Termin",
        label_new_time="Neuer Termin",
        label_previous_time="Bisheriger Termin",
        label_visit_motive="Besuchsgrund",
        label_time_zone="Zeitzone",
        footer=(
            "Sie erhalten diese Mitteilung, weil diese E-Mail-Adresse für Benachrichtigungen zum "
            "{calendar} hinterlegt ist. Wenn Sie die Adresse in den Benachrichtigungseinstellungen "
            "des Kalenders löschen, erhalten Sie keine E-Mails mehr."
        ),
        digest_one=PerChange(
            booked="1 weiterer neuer Online-Termin",
            cancelled="1 weitere kurzfristige Absage",
            rescheduled="1 weiterer Termin verschoben",
        ),
        digest_many=PerChange(
            booked="{count} weitere neue Online-Termine",
            cancelled="{count} weitere kurzfristige Absagen",
            rescheduled="{count} weitere Termine verschoben",
        ),
    ),
    verification=VerificationWording(
        sms=(
            "{product}: Code {code} bestätigt diese Nummer für Kalender {calendar}. Gültig {minutes} Min. "
            "Nicht von Ihnen? Ignorieren Sie die SMS."
        ),
        subject="{product}: Ihr Bestätigungscode {code}",
        intro="Diese E-Mail-Adresse wurde für Benachrichtigungen zum Kalender {calendar} eingetragen.",
        label_code="Bestätigungscode",
        how_to=(
            "Geben Sie den Code in den Benachrichtigungseinstellungen des Kalenders ein. Er gilt "
            "{minutes} Minuten. Erst danach erhalten Sie Benachrichtigungen an diese Adresse."
        ),
        not_you=(
            "Wenn Sie das nicht waren, ignorieren Sie diese E-Mail: Ohne den Code geht keine "
            "Benachrichtigung an diese Adresse."
        ),
        footer="Diese Nachricht wurde automatisch von {product} versandt.",
    ),
    advice=SettingsAdvice(
        spam_prone_mailbox=(
            "E-Mails an Hotmail-, Outlook- und Live-Adressen landen manchmal im Spam-Ordner. "
            "Sehen Sie dort nach oder verwenden Sie eine andere Adresse."
        ),
        no_contact=(
            "Es ist weder eine E-Mail-Adresse noch eine Mobilnummer hinterlegt. "
            "Benachrichtigungen erscheinen nur im Kalender."
        ),
        mobile_not_verified=(
            "Die Mobilnummer ist noch nicht bestätigt. Geben Sie den Code aus der SMS ein; bis dahin "
            "gehen keine Benachrichtigungen per SMS hinaus."
        ),
        email_not_verified=(
            "Die E-Mail-Adresse ist noch nicht bestätigt. Geben Sie den Code aus der E-Mail ein; bis "
            "dahin gehen keine Benachrichtigungen per E-Mail hinaus."
        ),
        verification_not_sent=(
            "Es konnte gerade kein Bestätigungscode gesendet werden. Fordern Sie in einigen Minuten "
            "einen neuen an."
        ),
        visit_motive_in_email=(
            "Der Besuchsgrund ist eine Gesundheitsangabe. Schalten Sie ihn für E-Mails nur ein, wenn "
            "das Postfach nur Ihnen und Ihrem Praxisteam zugänglich ist. Per SMS wird er nie gesendet."
        ),
    ),
)
