"""Ingest: reading mailboxes, parsing raw mail into typed values, origin and threading rules.

This package holds pure decisions (``parse``, ``origin``, ``threading``) and the mailbox adapters
(``sources``). It never imports the database layer.
"""
