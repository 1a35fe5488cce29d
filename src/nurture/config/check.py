"""Every configuration file checked together, and every problem reported, not only the first.

What ``nurture config check`` prints for CI, and what the worker and the API check before
they connect to anything, refusing to start on an error. The three TOML files are read
(syntax and validation errors at their lines), then each check of :data:`CHECKS` looks at
what was read.

A check is a function of the :class:`Configuration` that yields problems: errors, which
stop the worker and the API, or warnings, which are printed and logged. Each is placed in
its file with ``TomlFile.problem(loc, message, severity)``, ``loc`` being the path of the
value as pydantic would name it (``("behaviour", 2, "cap")``), so it gets its line. To add
one (a warning about a scoring rule, say), write the function below and add it to
:data:`CHECKS`; a check whose file is broken is skipped (that file's errors are reported
already).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from email.utils import parseaddr
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from nurture.adapters.mail.message import MessageError, mailbox
from nurture.config.files import event_vocabulary
from nurture.config.project import Brand, ProjectConfig
from nurture.config.settings import Settings
from nurture.config.template_check import check_templates
from nurture.config.tomlfile import TomlFile, read_toml_model
from nurture.config.watched import file_version
from nurture.config.webhooks import missing_secrets
from nurture.domain.sales.routing import SalesTeam
from nurture.domain.scoring import ScoringModel
from nurture.errors import ConfigError, ConfigProblem, shown_path

__all__ = [
    "CHECKS",
    "Check",
    "ConfigReport",
    "Configuration",
    "check_configuration",
    "exit_if_invalid",
    "read_configuration",
    "require_valid_configuration",
]

log = logging.getLogger("nurture.config")


class Configuration:
    """What the checks look at: each file as read (``model`` is None when it is broken)."""

    def __init__(
        self,
        project: TomlFile[ProjectConfig],
        scoring: TomlFile[ScoringModel],
        sales: TomlFile[SalesTeam],
        templates_dir: Path,
    ) -> None:
        self.project = project
        self.scoring = scoring
        self.sales = sales
        self.templates_dir = templates_dir

    def files(self) -> tuple[Path, ...]:
        """Everything checked, for a person to see what "OK" covered."""
        return (self.project.path, self.scoring.path, self.sales.path, self.templates_dir)


Check = Callable[[Configuration], Iterable[ConfigProblem]]
"""One check: the problems it finds in the configuration, errors and warnings alike."""


class ConfigReport(BaseModel):
    """What a check of the whole configuration found."""

    model_config = ConfigDict(frozen=True)

    files: tuple[Path, ...]
    errors: tuple[ConfigProblem, ...] = ()
    warnings: tuple[ConfigProblem, ...] = ()

    def lines(self) -> list[str]:
        """Every problem, errors first, one per line: ``file:line: field: rule``."""
        return [str(problem) for problem in (*self.errors, *self.warnings)]

    def summary(self) -> str:
        """One line: how many errors and warnings, in what."""
        what = ", ".join(shown_path(path) for path in self.files)
        if not self.errors:
            return f"configuration OK ({_count(self.warnings, 'warning')}): {what}"
        found = f"{_count(self.errors, 'error')}, {_count(self.warnings, 'warning')}"
        return f"{found} in the configuration: {what}"

    def refusal(self) -> str:
        """Why a process will not start: every error, one per line."""
        header = f"not starting: {_count(self.errors, 'error')} in the configuration"
        return "\n".join([header, *(f"  {error}" for error in self.errors)])


def read_configuration(settings: Settings) -> Configuration:
    """The three TOML files read where ``settings`` say (``NURTURE_HOME``, ``NURTURE_*_FILE``)."""
    return Configuration(
        project=read_toml_model(
            settings.path(settings.config_file), ProjectConfig, "project configuration"
        ),
        scoring=read_toml_model(
            settings.path(settings.scoring_file), ScoringModel, "scoring model"
        ),
        sales=read_toml_model(settings.path(settings.sales_file), SalesTeam, "sales team"),
        templates_dir=settings.path(settings.templates_dir),
    )


def check_configuration(settings: Settings, checks: Sequence[Check] | None = None) -> ConfigReport:
    """Run every check (default :data:`CHECKS`) on the configuration ``settings`` point at."""
    config = read_configuration(settings)
    found = [
        problem for check in (CHECKS if checks is None else checks) for problem in check(config)
    ]
    return ConfigReport(
        files=config.files(),
        errors=tuple(p for p in found if p.severity == "error"),
        warnings=tuple(p for p in found if p.severity == "warning"),
    )


def require_valid_configuration(settings: Settings) -> ConfigReport:
    """The report, its warnings logged; :class:`ConfigError` listing every error if any."""
    report = check_configuration(settings)
    for warning in report.warnings:
        log.warning("%s", warning)
    if report.errors:
        raise ConfigError(report.refusal(), report.errors)
    return report


def exit_if_invalid(settings: Settings, program: str) -> None:
    """For a program's start: exit (status 1) with every error on stderr, before anything
    is connected or opened, if the configuration has any."""
    try:
        require_valid_configuration(settings)
    except ConfigError as exc:
        raise SystemExit(f"{program}: {exc}") from None


# --- the checks ---------------------------------------------------------------------------


def each_file_is_valid(config: Configuration) -> Iterator[ConfigProblem]:
    """Syntax and validation errors of the three TOML files."""
    for read in (config.project, config.scoring, config.sales):
        yield from read.problems


def enrolment_sequences_exist(config: Configuration) -> Iterator[ConfigProblem]:
    """Every ``[[enrolment]]`` rule names a registered sequence (``workflows/sequences/``)."""
    if config.project.model is None:
        return
    # Imported here: registering the sequences imports the workflows, which import nurture.
    from workflows.sequences import REGISTRY

    known = sorted({name for name, _ in REGISTRY})
    for index, rule in enumerate(config.project.model.enrolment):
        if rule.sequence not in known:
            yield config.project.problem(
                ("enrolment", index, "sequence"),
                f"no sequence {rule.sequence!r} is registered; workflows/sequences/ has "
                f"{', '.join(known)}",
            )


def enrolment_forms_exist(config: Configuration) -> Iterator[ConfigProblem]:
    """A rule's ``forms`` are forms of ``[forms]``: another name is most likely a typo (it
    only matches leads who posted a form since removed)."""
    project = config.project.model
    if project is None:
        return
    for index, rule in enumerate(project.enrolment):
        for position, form in enumerate(rule.forms or ()):
            if form not in project.forms:
                yield config.project.problem(
                    ("enrolment", index, "forms", position),
                    f"no form {form!r} in [forms]: this rule never matches a new lead by it",
                    "warning",
                )


def enrolment_buying_stages_exist(config: Configuration) -> Iterator[ConfigProblem]:
    """A rule's ``buying_stages`` are stages of the scoring model's ``buying_stages``."""
    project, scoring = config.project.model, config.scoring.model
    if project is None or scoring is None:
        return
    stages = [stage.name for stage in scoring.buying_stages]
    for index, rule in enumerate(project.enrolment):
        for position, stage in enumerate(rule.buying_stages or ()):
            if stage not in stages:
                yield config.project.problem(
                    ("enrolment", index, "buying_stages", position),
                    f"no buying stage {stage!r} in {shown_path(config.scoring.path)} "
                    f"({', '.join(stages)}): this rule never matches a lead by it",
                    "warning",
                )


def fit_rules_name_declared_fields(config: Configuration) -> Iterator[ConfigProblem]:
    """A fit rule's ``custom.<field>`` is a field of ``[fields]``: another name never
    holds a value, so the rule would never match (or always, for ``present = false``)."""
    project, scoring = config.project.model, config.scoring.model
    if project is None or scoring is None:
        return
    for index, rule in enumerate(scoring.fit):
        for name in rule.when:
            field = name.removeprefix("custom.")
            if field != name and field not in project.fields:
                yield config.scoring.problem(
                    ("fit", index, "when", name),
                    f"no custom field {field!r} in [fields] of {shown_path(config.project.path)}",
                )


def enrolment_custom_fields_exist(config: Configuration) -> Iterator[ConfigProblem]:
    """An ``[[enrolment]]`` rule's ``custom`` names fields of ``[fields]``, with values the
    field can hold (a choice among its choices): otherwise the rule never matches."""
    project = config.project.model
    if project is None:
        return
    for index, rule in enumerate(project.enrolment):
        for name, values in (rule.custom or {}).items():
            spec = project.fields.get(name)
            if spec is None:
                yield config.project.problem(
                    ("enrolment", index, "custom", name), f"no custom field {name!r} in [fields]"
                )
                continue
            for value in values:
                if spec.type == "choice" and str(value) not in (spec.choices or ()):
                    yield config.project.problem(
                        ("enrolment", index, "custom", name),
                        f"{value!r} is not a choice of {name}: {', '.join(spec.choices or ())}",
                    )


def scoring_model_warnings(config: Configuration) -> Iterator[ConfigProblem]:
    """What the scoring model finds allowed but probably a mistake (a rule giving points
    with no ``cap``, which a repeated event inflates without end), at its line."""
    scoring = config.scoring.model
    if scoring is None:
        return
    for where, warning in scoring.warnings():
        yield config.scoring.problem(where, warning, "warning")


def brand_addresses_deliverable(config: Configuration) -> Iterator[ConfigProblem]:
    """The sender and the reply-to address are addresses mail can go out with: otherwise
    every email would fail."""
    project = config.project.model
    if project is None:
        return
    addresses = [("from_email", project.brand.from_email)]
    if project.brand.reply_to:
        addresses.append(("reply_to", parseaddr(project.brand.reply_to)[1]))
    for field, address in addresses:
        try:
            mailbox(address)
        except MessageError as exc:
            yield config.project.problem(("brand", field), str(exc))


def sequences_wait_for_declared_events(config: Configuration) -> Iterator[ConfigProblem]:
    """Every event type a sequence waits for is declared: the API refuses any other, so
    such a step could never see one."""
    project, scoring, sales = config.project.model, config.scoring.model, config.sales.model
    if project is None or scoring is None or sales is None:
        return
    # Imported here: it reads the registered sequences, which import the workflows.
    from nurture.config.sequence_check import undeclared_event_types

    declared = event_vocabulary(project, scoring, sales).types
    for problem in undeclared_event_types(declared):
        yield config.project.problem(("events",), problem)


def templates_render(config: Configuration) -> Iterator[ConfigProblem]:
    """Every email renders in every locale (``nurture templates check``)."""
    folder = config.templates_dir
    if not folder.is_dir():
        yield ConfigProblem(file=folder, message="email templates folder not found")
        return
    if config.project.model is None:
        return
    brand = config.project.model.brand.model_dump_json()
    for problem in _template_problems(folder, brand, _versions(folder)):
        yield ConfigProblem(file=folder, message=problem)


@functools.lru_cache(maxsize=4)
def _template_problems(
    folder: Path, brand: str, versions: tuple[tuple[str, tuple[int, int, int]], ...]
) -> tuple[str, ...]:
    """Rendering every email takes a few hundred milliseconds: a process that checks the
    same unchanged templates again (a test suite building an API per test) reuses the
    answer. ``versions`` is in the key so that any edit is checked anew."""
    return tuple(check_templates(folder, Brand.model_validate_json(brand)))


def _versions(folder: Path) -> tuple[tuple[str, tuple[int, int, int]], ...]:
    """Each file under ``folder`` with its version: what tells an edit."""
    return tuple(sorted((str(p), file_version(p)) for p in folder.rglob("*") if p.is_file()))


def webhook_secrets_set(config: Configuration) -> Iterator[ConfigProblem]:
    """Every ``[webhooks.<name>]`` names an environment variable that holds its secret."""
    if config.project.model is None:
        return
    for name, variable in missing_secrets(config.project.model):
        yield config.project.problem(
            ("webhooks", name, "secret_env"), f"{variable} is not set in the environment"
        )


CHECKS: tuple[Check, ...] = (
    each_file_is_valid,
    enrolment_sequences_exist,
    enrolment_forms_exist,
    enrolment_buying_stages_exist,
    fit_rules_name_declared_fields,
    enrolment_custom_fields_exist,
    brand_addresses_deliverable,
    scoring_model_warnings,
    sequences_wait_for_declared_events,
    templates_render,
    webhook_secrets_set,
)
"""Every check, in the order their problems are listed."""


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
