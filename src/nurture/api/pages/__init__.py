"""The pages people reach in a browser (a visitor after a form, a lead from an email's link,
a sales rep from an alert): server-rendered from Jinja templates in
``nurture/api/templates/pages/``, in the person's language, never cached, never indexed,
and never leaking a token as a referrer."""

from nurture.api.pages.render import PageRenderer, Token, page_language, words
from nurture.api.pages.texts import PAGE_LANGUAGES

__all__ = ["PAGE_LANGUAGES", "PageRenderer", "Token", "page_language", "words"]
