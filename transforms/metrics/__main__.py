"""``python -m transforms.metrics > docs/metrics.md``: print the metrics page generated from the registry."""

import sys

from transforms.metrics.registry import render_metrics_markdown

sys.stdout.write(render_metrics_markdown())
