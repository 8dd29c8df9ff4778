"""Answers customers and alerts staff: reply policy, templates, composition and transports.

* ``policy`` - whether a mail gets an automatic reply (RFC 3834), and to whom.
* ``context``, ``wording``, ``subject``, ``render`` - what the mail says, in Dutch or English.
* ``compose`` - the mail as safe RFC 5322 bytes with our recognisable Message-ID.
* ``transport`` (``smtp``, ``filedrop``, ``retry``) - how it leaves, and when to try again.
"""
