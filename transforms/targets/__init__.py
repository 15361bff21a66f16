"""Roadmap targets (``targets.yaml``): where each target's metric comes from
(:mod:`~transforms.targets.sources`) and how its weekly status is judged
(:mod:`~transforms.targets.status`), for ``marts.target_status``."""
