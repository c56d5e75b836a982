"""Side-by-side benchmarks: each prints ratios measured in one run, never a timed assertion."""

import os

# Powertools reads these when its Logger and Metrics are first built; INFO is what runs on AWS.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Benchmark")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "practitioner-alerts")
