"""Internals of batchtasks. Nothing here is public API; import from `batchtasks` instead."""
