"""Checklists and the violation catalogue (``checklists/*.yaml``): loaded and validated at start-up,
pinned by content hash, browsed on pages and over the API; the staff-roster rules."""
