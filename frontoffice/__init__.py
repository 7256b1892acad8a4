"""The kernel every app builds on; it imports no app (see docs/architecture.md)."""
