"""The publish gate: every reason publishing is refused, in one list.

The service calls ``refusals`` when the facilitator clicks Publish and raises
the first one; the Publish panel shows ``standing_refusals`` before the click
(and disables the button), so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from facilitator.i18n import _, ngettext
from facilitator.publishing.preview import Preview


@dataclass(frozen=True)
class GateState:
    phase: str
    published: bool
    contributors: int
    k: int
    preview: Preview | None


def standing_refusals(state: GateState) -> list[str]:
    """What refuses publication whatever the facilitator clicks."""
    out = []
    if state.published:
        out.append(_("This retro is already published; its summary can't change."))
        return out
    if state.phase != "publish":
        out.append(_("Move the retro to the Publish phase first."))
    if state.contributors < state.k:
        out.append(ngettext(
            "Only {n} person wrote cards; this retro needs at least {k} (its anonymity threshold) before anything "
            "is published.",
            "Only {n} people wrote cards; this retro needs at least {k} (its anonymity threshold) before anything "
            "is published.", state.contributors).format(n=state.contributors, k=state.k))
    if state.preview is not None and state.preview.blocking:
        where = ", ".join(f.where for f in state.preview.blocking)
        out.append(_(
            "Publishing is refused: {where} repeats the words of a fear card. Fears are published only "
            "paraphrased: edit the label or summary in Review, then approve the new preview.").format(where=where))
    return out


def refusals(state: GateState, *, approved: bool, rev: int, current_rev: int) -> list[str]:
    """Everything that refuses this click: the standing refusals, approval, and the revision read."""
    out = []
    if not approved:
        out.append(_("Nothing leaves the room without the facilitator's approval: tick the approval box."))
    out += standing_refusals(state)
    if not state.published and rev != current_rev:
        out.append(_(
            "The retro changed since you read this preview (an edit in another tab or window); "
            "read the new preview and approve it again."))
    return out
