"""One module per AWS service. Each takes its boto3 client as an argument and turns botocore's
errors into :mod:`practitioner_alerts.errors`, so nothing else in the code knows botocore exists."""
