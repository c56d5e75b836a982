"""Pure domain: appointments, the short-notice rule, calendar settings and notifications.

Nothing here imports boto3, reads the environment or looks at a clock, so every decision can be
replayed on any day and tested by calling it.
"""
