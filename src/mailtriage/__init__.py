"""mailtriage: turns a helpdesk mailbox into triaged tickets with honest SLA commitments."""

__version__ = "0.1.0"
