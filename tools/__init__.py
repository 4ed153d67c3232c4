"""Maintenance tools of the book (executor, notebook hygiene). Not part of ``dlbook_lib``."""
