"""The words of the public pages (a form's thank-you and errors, unsubscribe, double opt-in
confirmation, tracking links), per language; keys are ``<page>.<what>``."""

from __future__ import annotations

__all__ = ["PUBLIC"]

PUBLIC: dict[str, dict[str, str]] = {
    "en": {
        "thanks.title": "Thank you",
        "thanks.body": "{company} has your request.",
        "thanks.offer": "As promised, here is your copy of",
        "thanks.download": "Download it now",
        "thanks.mail": "We have also sent it to you by email.",
        "thanks.no_offer": "One of us will read your message and come back to you shortly.",
        "thanks.confirm": (
            "One more step: we have sent you an email with a link to confirm your "
            "subscription. Nothing else will be sent until you use it."
        ),
        "thanks.website": "Back to {website}",
        "thanks.unknown_title": "This form does not exist",
        "thanks.unknown_body": "Visit {website} to find what you were looking for.",
        "form_errors.title": "Please check the form",
        "form_errors.intro": "It was not sent: a field needs your attention.",
        "form_errors.intro_many": "It was not sent: {count} fields need your attention.",
        "form_errors.back": "Back to the form",
        "form_errors.back_hint": (
            "Or use your browser's Back button: what you typed is still there."
        ),
        "form_errors.other": "The form could not be sent",
        "form_errors.status.404": "This form does not exist (any more): tell the site's owner.",
        "form_errors.status.401": (
            "This form cannot be sent from a web page: tell the site's owner."
        ),
        "form_errors.status.429": (
            "Too many forms were sent from your connection just now: wait a minute, then "
            "send it again."
        ),
        "form_errors.status.503": (
            "Our service did not answer in time: wait a moment, then send the form again."
        ),
        "form_errors.missing": "is required",
        "form_errors.too_long": "is too long: {limit} characters at most",
        "form_errors.invalid": "is not valid",
        "form_errors.field.email": "is not a valid email address",
        "form_errors.field.country": "should be a two-letter country code, such as FR or US",
        "form_errors.field.phone": "should be a phone number, such as +33 1 23 45 67 89",
        "form_errors.field.timezone": "should be a time zone, such as Europe/Paris",
        "form_errors.field.locale": "should be a language code, such as fr or fr-CA",
        "form_errors.own.email": (
            "has accented or non-Latin characters before the @, which we cannot send email "
            "to: use another address"
        ),
        "form_errors.own.nurture_rendered": (
            "is missing or too old: reload the page and send the form again"
        ),
        "field.email": "Email address",
        "field.first_name": "First name",
        "field.last_name": "Last name",
        "field.company": "Company",
        "field.job_title": "Job title",
        "field.industry": "Industry",
        "field.company_size": "Company size",
        "field.phone": "Phone",
        "field.country": "Country",
        "field.timezone": "Time zone",
        "field.locale": "Language",
        "field.nurture_rendered": "Form token",
        "unsubscribe.title": "Unsubscribe from {company}",
        "unsubscribe.body": (
            "You will get no more marketing emails from us. Emails you ask for (a download "
            "link, say) still reach you."
        ),
        "unsubscribe.button": "Unsubscribe",
        "unsubscribe.done_title": "You are unsubscribed",
        "unsubscribe.done_body": "{company} will send you no more marketing emails.",
        "unsubscribe.invalid_body": (
            "It may be incomplete: copy the whole link from the email, or reply to it asking "
            "{company} to unsubscribe you."
        ),
        "confirm.title": "Confirm your subscription to {company}",
        "confirm.body": (
            "You asked to hear from {company}. Confirm, and we will send you what you asked "
            "for; every email lets you unsubscribe with one click."
        ),
        "confirm.button": "Confirm my subscription",
        "confirm.done_title": "Thank you, you are subscribed",
        "confirm.done_body": "{company} will send you what you asked for shortly.",
        "confirm.invalid_body": (
            "It may be incomplete: copy the whole link from the email, or post the form again "
            "to get a new one."
        ),
        "confirm.expired_body": (
            "Nothing was kept from your request. Post the form again and {company} will send "
            "you a new link."
        ),
    },
    "fr": {
        "thanks.title": "Merci",
        "thanks.body": "{company} a bien reçu votre demande.",
        "thanks.offer": "Comme promis, voici votre exemplaire de",
        "thanks.download": "Le télécharger",
        "thanks.mail": "Nous vous l'avons aussi envoyé par e-mail.",
        "thanks.no_offer": "L'un de nous lit votre message et revient vers vous très vite.",
        "thanks.confirm": (
            "Encore une étape : nous vous avons envoyé un e-mail avec un lien pour confirmer "
            "votre inscription. Rien d'autre ne vous sera envoyé avant."
        ),
        "thanks.website": "Retour à {website}",
        "thanks.unknown_title": "Ce formulaire n'existe pas",
        "thanks.unknown_body": "Rendez-vous sur {website} pour trouver ce que vous cherchiez.",
        "form_errors.title": "Vérifiez le formulaire",
        "form_errors.intro": "Il n'a pas été envoyé : un champ est à corriger.",
        "form_errors.intro_many": "Il n'a pas été envoyé : {count} champs sont à corriger.",
        "form_errors.back": "Revenir au formulaire",
        "form_errors.back_hint": (
            "Ou utilisez le bouton Retour de votre navigateur : ce que vous avez saisi y est "
            "encore."
        ),
        "form_errors.other": "Le formulaire n'a pas pu être envoyé",
        "form_errors.status.404": (
            "Ce formulaire n'existe pas (ou plus) : prévenez le responsable du site."
        ),
        "form_errors.status.401": (
            "Ce formulaire ne peut pas être envoyé depuis une page web : prévenez le "
            "responsable du site."
        ),
        "form_errors.status.429": (
            "Trop de formulaires ont été envoyés depuis votre connexion à l'instant : "
            "patientez une minute, puis envoyez-le de nouveau."
        ),
        "form_errors.status.503": (
            "Notre service n'a pas répondu à temps : patientez un instant, puis envoyez de "
            "nouveau le formulaire."
        ),
        "form_errors.missing": "est obligatoire",
        "form_errors.too_long": "est trop long : {limit} caractères au plus",
        "form_errors.invalid": "n'est pas valide",
        "form_errors.field.email": "n'est pas une adresse e-mail valide",
        "form_errors.field.country": "doit être un code pays à deux lettres, comme FR ou US",
        "form_errors.field.phone": "doit être un numéro de téléphone, comme +33 1 23 45 67 89",
        "form_errors.field.timezone": "doit être un fuseau horaire, comme Europe/Paris",
        "form_errors.field.locale": "doit être un code de langue, comme fr ou fr-CA",
        "form_errors.own.email": (
            "contient des caractères accentués ou non latins avant le @, auxquels nous ne "
            "pouvons pas écrire : utilisez une autre adresse"
        ),
        "form_errors.own.nurture_rendered": (
            "manque ou est trop ancien : rechargez la page et envoyez de nouveau le formulaire"
        ),
        "field.email": "Adresse e-mail",
        "field.first_name": "Prénom",
        "field.last_name": "Nom",
        "field.company": "Entreprise",
        "field.job_title": "Fonction",
        "field.industry": "Secteur",
        "field.company_size": "Taille de l'entreprise",
        "field.phone": "Téléphone",
        "field.country": "Pays",
        "field.timezone": "Fuseau horaire",
        "field.locale": "Langue",
        "field.nurture_rendered": "Jeton du formulaire",
        "unsubscribe.title": "Se désinscrire de {company}",
        "unsubscribe.body": (
            "Vous ne recevrez plus d'e-mails marketing de notre part. Les e-mails que vous "
            "demandez (un lien de téléchargement, par exemple) vous parviennent toujours."
        ),
        "unsubscribe.button": "Me désinscrire",
        "unsubscribe.done_title": "Vous êtes désinscrit",
        "unsubscribe.done_body": "{company} ne vous enverra plus d'e-mails marketing.",
        "unsubscribe.invalid_body": (
            "Il est peut-être incomplet : copiez le lien entier depuis l'e-mail, ou répondez-y "
            "en demandant à {company} de vous désinscrire."
        ),
        "confirm.title": "Confirmez votre inscription à {company}",
        "confirm.body": (
            "Vous avez demandé à recevoir des nouvelles de {company}. Confirmez, et nous vous "
            "enverrons ce que vous avez demandé ; chaque e-mail permet de se désinscrire en "
            "un clic."
        ),
        "confirm.button": "Confirmer mon inscription",
        "confirm.done_title": "Merci, votre inscription est confirmée",
        "confirm.done_body": "{company} vous envoie très vite ce que vous avez demandé.",
        "confirm.invalid_body": (
            "Il est peut-être incomplet : copiez le lien entier depuis l'e-mail, ou envoyez de "
            "nouveau le formulaire pour en recevoir un autre."
        ),
        "confirm.expired_body": (
            "Rien n'a été conservé de votre demande. Envoyez de nouveau le formulaire et "
            "{company} vous enverra un nouveau lien."
        ),
    },
}
