"""Français : tout ce que disent les alertes et les paramètres.

Typographie française : espace insécable (U+00A0) avant le deux-points et à l’intérieur des
guillemets, espace fine insécable (U+202F) avant le point-virgule, le point d’interrogation et le
point d’exclamation ; apostrophe typographique (’) partout, comme dans les noms que fournit Babel
(« heure d’été »). Le SMS, qui ne connaît ni l’une ni l’autre, les écrit simplement.
Le délai est « tardif » plutôt que « de dernière minute » : la fenêtre est de 24 h.
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

FRENCH = Language(
    alerts=Wording(
        headlines=PerKind(
            booked="Nouveau rendez-vous en ligne\u00a0: {patient}, {when}",
            cancelled="Annulation tardive\u00a0: {patient}, {when}",
            rescheduled="Rendez-vous déplacé\u00a0: {patient}, du {previous} au {when}",
            test="Message de test\u00a0: les alertes pour {calendar} sont actives.",
        ),
        headlines_unnamed=PerKind(
            booked="Nouveau rendez-vous en ligne (sans nom)\u00a0: {when}",
            cancelled="Annulation tardive (sans nom)\u00a0: {when}",
            rescheduled="Rendez-vous déplacé (sans nom)\u00a0: du {previous} au {when}",
            test="Message de test\u00a0: les alertes pour {calendar} sont actives.",
        ),
        intros=PerKind(
            booked="Un nouveau rendez-vous a été pris en ligne dans {calendar}.",
            cancelled="Un rendez-vous de {calendar} a été annulé en ligne peu de temps à l’avance.",
            rescheduled="Un rendez-vous de {calendar} a été déplacé en ligne peu de temps à l’avance.",
            test="Ceci est un message de test\u00a0: les alertes pour {calendar} sont actives.",
        ),
        # Quoted as a label: "de"/"du"/"d’" before a free-form name cannot be chosen reliably.
        calendar_named="l’agenda «\u00a0{name}\u00a0»",
        calendar_unnamed="l’agenda «\u00a0{name}\u00a0»",
        # Surname first: "M. Dupont" would read as "Monsieur Dupont".
        patient="{surname} {initial}.",
        first_name_only="{initial}. (nom de famille non indiqué)",
        no_name="(nom non indiqué)",
        date_at_time="{date} à {time}",
        label_separator="\u00a0: ",
        greeting="Bonjour,",
        test_note=(
            "Si vous avez trouvé cet e-mail dans vos courriers indésirables, marquez-le comme "
            "«\u00a0non indésirable\u00a0» afin que les prochaines alertes arrivent dans votre boîte "
            "de réception."
        ),
        label_patient="Patient(e)",
        label_appointment="Rendez-vous",
        label_new_time="Nouvel horaire",
        label_previous_time="Ancien horaire",
        label_visit_motive="Motif de consultation",
        label_time_zone="Fuseau horaire",
        footer=(
            "Vous recevez ce message parce que cette adresse e-mail est enregistrée pour les alertes "
            "de {calendar}. Pour ne plus les recevoir, supprimez l’adresse dans les paramètres "
            "d’alerte de l’agenda."
        ),
        digest_one=PerChange(
            booked="1 autre rendez-vous en ligne",
            cancelled="1 autre annulation tardive",
            rescheduled="1 autre rendez-vous déplacé",
        ),
        digest_many=PerChange(
            booked="{count} autres rendez-vous en ligne",
            cancelled="{count} autres annulations tardives",
            rescheduled="{count} autres rendez-vous déplacés",
        ),
    ),
    verification=VerificationWording(
        sms=(
            "{product}\u00a0: le code {code} confirme ce numéro pour l’agenda {calendar}. Valable "
            "{minutes}\u00a0min. Pas vous\u202f? Ignorez ce SMS."
        ),
        subject="{product}\u00a0: votre code de confirmation {code}",
        intro="Cette adresse e-mail a été saisie pour les alertes de l’agenda {calendar}.",
        label_code="Code de confirmation",
        how_to=(
            "Saisissez le code dans les paramètres d’alerte de l’agenda. Il reste valable "
            "{minutes}\u00a0minutes. Les alertes ne seront envoyées à cette adresse qu’ensuite."
        ),
        not_you=(
            "Si ce n’était pas vous, ignorez cet e-mail\u00a0: sans le code, aucune alerte n’est "
            "envoyée à cette adresse."
        ),
        footer="Ce message a été envoyé automatiquement par {product}.",
    ),
    advice=SettingsAdvice(
        spam_prone_mailbox=(
            "Les e-mails envoyés aux adresses Hotmail, Outlook et Live arrivent parfois dans les "
            "courriers indésirables. Vérifiez ce dossier ou utilisez une autre adresse."
        ),
        no_contact=(
            "Aucune adresse e-mail ni aucun numéro de mobile n’est enregistré. "
            "Les alertes s’affichent uniquement dans l’agenda."
        ),
        mobile_not_verified=(
            "Le numéro de mobile n’est pas encore confirmé. Saisissez le code reçu par SMS\u202f; "
            "d’ici là, aucune alerte n’est envoyée par SMS."
        ),
        email_not_verified=(
            "L’adresse e-mail n’est pas encore confirmée. Saisissez le code reçu par e-mail\u202f; "
            "d’ici là, aucune alerte n’est envoyée par e-mail."
        ),
        verification_not_sent=(
            "Aucun code de confirmation n’a pu être envoyé pour le moment. Demandez-en un nouveau "
            "dans quelques minutes."
        ),
        visit_motive_in_email=(
            "Le motif de consultation est une donnée de santé. Ne l’activez pour les e-mails que si "
            "seuls vous et l’équipe de votre cabinet avez accès à cette boîte. Il n’est jamais envoyé "
            "par SMS."
        ),
    ),
)
