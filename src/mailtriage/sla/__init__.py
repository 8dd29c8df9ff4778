"""SLA: the office-hours calendar, commitments, ticket clocks, change windows and compliance."""
