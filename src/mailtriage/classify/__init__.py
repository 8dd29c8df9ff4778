"""Classify: incident, change or other, and a priority, from rules plus a model learnt from
staff corrections."""
