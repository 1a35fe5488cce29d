"""The words of the pages, per language, gathered from each area's catalogue (the public
pages', the sales rep's), with the names of days and months for dates."""

from __future__ import annotations

from nurture.api.pages.texts_public import PUBLIC
from nurture.api.pages.texts_rep import REP

__all__ = ["MONTHS", "PAGE_LANGUAGES", "TEXTS", "WEEKDAYS"]

_COMMON: dict[str, dict[str, str]] = {
    "en": {
        "common.invalid_title": "This link is not valid",
        "common.invalid_body": "It may be incomplete: copy the whole link from the email.",
        "common.expired_title": "This link has expired",
        "common.too_many_title": "Too many requests",
        "common.too_many_body": "Wait a minute, then open the link again.",
        "common.unavailable_title": "Not available just now",
        "common.unavailable_body": "Our service did not answer in time: try again in a moment.",
        "common.footer": "{company}",
        "tracking.invalid_body": "It may be incomplete: visit {website} instead.",
    },
    "fr": {
        "common.invalid_title": "Ce lien n'est pas valide",
        "common.invalid_body": (
            "Il est peut-être incomplet : copiez le lien entier depuis l'e-mail."
        ),
        "common.expired_title": "Ce lien a expiré",
        "common.too_many_title": "Trop de requêtes",
        "common.too_many_body": "Patientez une minute, puis rouvrez le lien.",
        "common.unavailable_title": "Indisponible pour le moment",
        "common.unavailable_body": (
            "Notre service n'a pas répondu à temps : réessayez dans un instant."
        ),
        "common.footer": "{company}",
        "tracking.invalid_body": "Il est peut-être incomplet : rendez-vous plutôt sur {website}.",
    },
}

PAGE_LANGUAGES: tuple[str, ...] = ("en", "fr")
TEXTS: dict[str, dict[str, str]] = {
    code: {**_COMMON[code], **PUBLIC.get(code, {}), **REP.get(code, {})} for code in PAGE_LANGUAGES
}
WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
}
MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": (
        "janv.",
        "févr.",
        "mars",
        "avr.",
        "mai",
        "juin",
        "juil.",
        "août",
        "sept.",
        "oct.",
        "nov.",
        "déc.",
    ),
}
