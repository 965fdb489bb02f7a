"""The publish gate: every reason publishing is refused, in one list.

The service calls ``refusals`` when the facilitator clicks Publish and raises
the first one; the Publish panel shows ``standing_refusals`` before the click
(and disables the button), so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        out.append("This retro is already published; its summary can't change.")
        return out
    if state.phase != "publish":
        out.append("Move the retro to the Publish phase first.")
    if state.contributors < state.k:
        out.append(
            f"Only {state.contributors} {'person' if state.contributors == 1 else 'people'} wrote cards; this retro "
            f"needs at least {state.k} (its anonymity threshold) before anything is published."
        )
    if state.preview is not None and state.preview.blocking:
        where = ", ".join(f.where for f in state.preview.blocking)
        out.append(
            f"Publishing is refused: {where} repeats the words of a fear card. Fears are published only "
            "paraphrased: edit the label or summary in Review, then approve the new preview."
        )
    return out


def refusals(state: GateState, *, approved: bool, rev: int, current_rev: int) -> list[str]:
    """Everything that refuses this click: the standing refusals, approval, and the revision read."""
    out = []
    if not approved:
        out.append("Nothing leaves the room without the facilitator's approval: tick the approval box.")
    out += standing_refusals(state)
    if not state.published and rev != current_rev:
        out.append(
            "The retro changed since you read this preview (an edit in another tab or window); "
            "read the new preview and approve it again."
        )
    return out
