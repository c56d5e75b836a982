"""Practitioner Alerts: the code shared by the detector, the sender and the settings API.

``domain`` and ``rendering`` are pure (no boto3, no environment, no clock); ``adapters`` hold one
module per AWS service; ``detector`` and ``sender`` wire them together for the handlers.
"""
