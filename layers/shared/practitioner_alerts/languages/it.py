"""Italiano: tutto ciò che dicono le notifiche e le impostazioni.

Forma di cortesia (Lei). Apostrofo tipografico (’) ovunque, come nei nomi forniti da Babel
("dell’Europa centrale"); l’SMS, che non lo conosce, lo scrive semplice. "Tardiva" e "con poco
preavviso" anziché "dell’ultimo minuto": la finestra è di 24 ore.
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

ITALIAN = Language(
    alerts=Wording(
        headlines=PerKind(
            booked="Nuovo appuntamento online: {patient}, {when}",
            cancelled="Disdetta tardiva: {patient}, {when}",
            rescheduled="Appuntamento spostato: {patient}, da {previous} a {when}",
            test="Messaggio di prova: le notifiche per il {calendar} sono attive.",
        ),
        headlines_unnamed=PerKind(
            booked="Nuovo appuntamento online (senza nome): {when}",
            cancelled="Disdetta tardiva (senza nome): {when}",
            rescheduled="Appuntamento spostato (senza nome): da {previous} a {when}",
            test="Messaggio di prova: le notifiche per il {calendar} sono attive.",
        ),
        intros=PerKind(
            booked="È stato prenotato online un nuovo appuntamento nel {calendar}.",
            cancelled="Un appuntamento nel {calendar} è stato disdetto online con poco preavviso.",
            rescheduled="Un appuntamento nel {calendar} è stato spostato online con poco preavviso.",
            test="Questo è un messaggio di prova: le notifiche per il {calendar} sono attive.",
        ),
        # Quoted as a label: "di"/"del"/"della" before a free-form name cannot be chosen reliably.
        calendar_named="calendario «{name}»",
        calendar_unnamed="calendario «{name}»",
        patient="{initial}. {surname}",
        first_name_only="{initial}. (cognome non indicato)",
        no_name="(nome non indicato)",
        date_at_time="{date} alle ore {time}",
        label_separator=": ",
        greeting="Buongiorno,",
        test_note=(
            "Se ha trovato questa e-mail nella cartella dello spam, la contrassegni come «non spam», "
            "così le prossime notifiche arriveranno nella posta in arrivo."
        ),
        label_patient="Paziente",
        label_appointment="Appuntamento",
        label_new_time="Nuovo orario",
        label_previous_time="Orario precedente",
        label_visit_motive="Motivo della visita",
        label_time_zone="Fuso orario",
        footer=(
            "Riceve questo messaggio perché questo indirizzo e-mail è registrato per le notifiche del "
            "{calendar}. Per non riceverle più, cancelli l’indirizzo nelle impostazioni delle "
            "notifiche del calendario."
        ),
        digest_one=PerChange(
            booked="1 altro appuntamento online",
            cancelled="1 altra disdetta tardiva",
            rescheduled="1 altro appuntamento spostato",
        ),
        digest_many=PerChange(
            booked="altri {count} appuntamenti online",
            cancelled="altre {count} disdette tardive",
            rescheduled="altri {count} appuntamenti spostati",
        ),
    ),
    verification=VerificationWording(
        sms=(
            "{product}: il codice {code} conferma questo numero per il calendario {calendar}. Valido "
            "{minutes} min. Non è lei? Ignori questo SMS."
        ),
        subject="{product}: il suo codice di conferma {code}",
        intro="Questo indirizzo e-mail è stato inserito per le notifiche del calendario {calendar}.",
        label_code="Codice di conferma",
        how_to=(
            "Inserisca il codice nelle impostazioni delle notifiche del calendario. È valido "
            "{minutes} minuti. Solo dopo le notifiche saranno inviate a questo indirizzo."
        ),
        not_you=(
            "Se non è stato lei, ignori questa e-mail: senza il codice non viene inviata alcuna "
            "notifica a questo indirizzo."
        ),
        footer="Questo messaggio è stato inviato automaticamente da {product}.",
    ),
    advice=SettingsAdvice(
        spam_prone_mailbox=(
            "Le e-mail inviate a indirizzi Hotmail, Outlook e Live finiscono a volte nella posta "
            "indesiderata. Controlli quella cartella oppure utilizzi un altro indirizzo."
        ),
        no_contact=(
            "Non è impostato né un indirizzo e-mail né un numero di cellulare. "
            "Le notifiche compaiono solo nel calendario."
        ),
        mobile_not_verified=(
            "Il numero di cellulare non è ancora confermato. Inserisca il codice ricevuto via SMS; "
            "fino ad allora non vengono inviate notifiche via SMS."
        ),
        email_not_verified=(
            "L’indirizzo e-mail non è ancora confermato. Inserisca il codice ricevuto via e-mail; "
            "fino ad allora non vengono inviate notifiche via e-mail."
        ),
        verification_not_sent=(
            "Al momento non è stato possibile inviare un codice di conferma. Ne richieda uno nuovo tra "
            "qualche minuto."
        ),
        visit_motive_in_email=(
            "Il motivo della visita è un dato sanitario. Lo attivi per le e-mail solo se questa casella "
            "è accessibile soltanto a lei e al personale dello studio. Non viene mai inviato via SMS."
        ),
    ),
)
