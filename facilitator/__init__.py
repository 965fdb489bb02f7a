"""LLM-assisted retrospective facilitator: themes, fears vs commitments, actions."""

__version__ = "0.1.0"
