"""Mailbox adapters: IMAP, Maildir, mbox and a directory of .eml files, all yielding ``RawMail``."""
