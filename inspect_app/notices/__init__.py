"""Enforcement notices: numbered PDF documents, frozen snapshots, public verification (issue 7)."""
