"""What the sales side of a lead is made of: hand-offs, assignments, actions, the log.

Models only, so the lead's state can hold them; the rules are in ``nurture.domain.sales.handoff``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from nurture.domain.text import reject_control_characters

__all__ = [
    "RECYCLE_REASONS",
    "RETURN_REASONS",
    "Assignment",
    "HandOff",
    "ReturnReason",
    "SalesAction",
    "SalesEntry",
    "WebhookMessage",
    "webhook_message",
]

_FROZEN = ConfigDict(frozen=True)
ReturnReason = Literal["budget", "authority", "need", "timing", "no_response", "other"]
RETURN_REASONS: tuple[str, ...] = get_args(ReturnReason)
RECYCLE_REASONS: tuple[str, ...] = (*RETURN_REASONS, "lost")
"""Why a lead is back in nurture: a return's reason, or ``lost`` (the deal was lost)."""
ActionName = Literal["accept", "return_to_nurture", "disqualify", "convert", "won", "lost"]
# Free text a person types: no control characters, as every text from outside (a NUL
# could never be stored in a Postgres facts log, a CR or LF forges lines in a log).
_NoControl = AfterValidator(reject_control_characters)
Actor = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), _NoControl
]
_Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), _NoControl]
_Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), _NoControl]


class SalesEntry(BaseModel):
    """One line of the lead's sales history."""

    model_config = _FROZEN

    at: AwareDatetime
    kind: Literal[
        "handed_off",
        "assigned",
        "pooled",
        "reminded",
        "escalated",
        "accepted",
        "returned",
        "disqualified",
        "converted",
        "won",
        "lost",
        "undelivered",
    ]
    actor: str
    """Who did it: ``nurture`` for the system, else the rep or manager named in the action."""
    detail: str
    handoff: int | None = None
    """The number of the hand-off it belongs to, if any."""
    rep: str | None = None
    """The rep's id: the one assigned, reminded or passed over."""
    reason: str | None = None
    """Why, in a few fixed words (a return's BANT reason, the router's rule, the cause of
    the hand-off), never free text: what the facts log keeps, where ``detail`` is for
    people and may quote a note."""
    revisit_after: date | None = None
    """A return's date before which no new hand-off starts."""


class Assignment(BaseModel):
    """What the router decided for one hand-off (``rep_id`` None: the pool)."""

    model_config = _FROZEN

    rep_id: str | None
    rep_name: str | None = None
    rep_email: str | None = None
    manager_email: str | None = None
    reason: str


class HandOff(BaseModel):
    """One trip of the lead to sales."""

    model_config = _FROZEN

    number: int
    started_at: AwareDatetime
    trigger: str
    owner: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    manager_email: str | None = None
    assigned_at: AwareDatetime | None = None
    remind_at: AwareDatetime | None = None
    accept_by: AwareDatetime | None = None
    reminded: bool = False
    reassignments: int = 0
    passed_over: tuple[str, ...] = ()
    """Reps who let the SLA lapse on this hand-off; the next assignment skips them."""
    accepted_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None

    @property
    def routed(self) -> bool:
        """An owner was chosen or the lead went to the pool."""
        return self.assigned_at is not None


class SalesAction(BaseModel):
    """A sales action on a lead (API, CLI or Temporal update).

    The rules that hold whatever the lead's state are checked here, so an action breaking
    one cannot be made at all (a 422 naming the field); ``handoff.why_not`` judges
    the rest against the lead's state."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: ActionName
    actor: Actor
    reason: _Reason | None = Field(default=None, validate_default=True)
    """return_to_nurture: one of ``RETURN_REASONS``; disqualify: any text; required by both."""
    note: _Note | None = None
    revisit_after: date | None = Field(default=None, validate_default=True)
    """return_to_nurture only: no new hand-off before this date (UTC)."""
    action_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")] | None = None
    """Retries with the same id apply once."""

    @field_validator("reason")
    @classmethod
    def _reason_the_action_needs(cls, reason: str | None, info: ValidationInfo) -> str | None:
        action = info.data.get("action")  # absent when the action itself was invalid
        if action == "return_to_nurture" and reason not in RETURN_REASONS:
            raise ValueError(
                "a return to nurture needs one of these reasons: "
                f"{', '.join(RETURN_REASONS[:-1])} or {RETURN_REASONS[-1]}"
            )
        if action == "disqualify" and not reason:
            raise ValueError("disqualify needs a reason (why the lead is a bad fit)")
        return reason

    @field_validator("revisit_after")
    @classmethod
    def _revisit_only_on_return(cls, revisit: date | None, info: ValidationInfo) -> date | None:
        action = info.data.get("action")
        if revisit is not None and action not in (None, "return_to_nurture"):
            raise ValueError("only a return to nurture takes a revisit_after date")
        return revisit


class WebhookMessage(BaseModel):
    """A Slack-compatible message (incoming webhook JSON): ``text`` is the notification and
    the fallback for clients without blocks; ``blocks`` is the full layout."""

    text: str
    blocks: list[dict[str, Any]] = []
    lead_id: str | None = None
    """With ``app_url``: the lead whose link the send activity signs (a read-only link: a
    channel is no one rep); neither is posted."""
    app_url: str | None = None


def webhook_message(summary: dict[str, Any]) -> WebhookMessage:
    """The Slack message for one assignment, from the same summary the alert email shows:
    who, the score and its explanation, recent activity and a button to act."""
    who = summary["owner"] or "the pool"
    company = summary["company"] or "unknown company"
    text = (
        f"New SQL for {who}: {summary['name']} ({company}), score {summary['score']} "
        f"grade {summary['grade']}, {summary['trigger']}. {summary['link']}"
    )
    fields = [
        ("Owner", who),
        ("Trigger", summary["trigger"]),
        ("Score", f"{summary['score']} (grade {summary['grade']})"),
        ("Buying stage", summary["buying_stage"] or "unknown"),
        ("Accept by", summary["accept_by"] or "as soon as possible"),
        ("Lead", summary["lead_id"]),
    ]
    reasons = "\n".join(
        f"• {line['label']}: {line['points']:+d}" for line in summary["explanation"]
    )
    recent = "\n".join(f"• {row['at']} UTC: {row['what']}" for row in summary["recent"])
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(f"New SQL: {summary['name']} ({company})")},
        {"type": "section", "fields": [_mrkdwn(f"*{k}*\n{_escape(v)}") for k, v in fields]},
        {"type": "section", "text": _mrkdwn("*Why this score*\n" + _escape(reasons or "-"))},
        {"type": "section", "text": _mrkdwn("*Recent activity*\n" + _escape(recent or "-"))},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": _plain("Open the lead"), "url": summary["link"]}
            ],
        },
    ]
    return WebhookMessage(text=text, blocks=blocks)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:150], "emoji": False}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:3000]}


def _escape(text: str) -> str:
    """Slack's three control characters, so a lead's name cannot inject mentions or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
