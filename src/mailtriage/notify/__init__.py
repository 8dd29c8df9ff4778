"""Notify: reply policy, templates, message composition and the outgoing mail transports."""
