"""The reports dashboard (``GET /reports``): its sections drawn from the reports' results
(``sections``, ``campaigns``), charts as inline SVG (``charts``), tables (``view``), words
and number formats in English and French (``i18n``, ``texts``), and the page (``page``)
rendered from ``nurture/api/templates/reports.html``."""

__all__: list[str] = []
