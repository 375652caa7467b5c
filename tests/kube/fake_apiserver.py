#!/usr/bin/env python3
"""A fake Kubernetes API server (core v1) with a fake kubelet, for oxhub's KubeSpawner tests.

This file is kept for compatibility: the fake itself is the fake_k8s package next to it (its
docstring documents what the fake does). `from fake_apiserver import FakeCluster` keeps working,
and so does running this file as the command line (see `fake_apiserver.py --help`).
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from fake_k8s.cli import main  # noqa: E402
from fake_k8s.cluster import KUBESPAWNER_VERBS, Z2JH_HUB_ROLE, FakeCluster  # noqa: E402
from fake_k8s.objects import (RESOURCES, ApiError, canon_quantity, invalid, merge_patch,  # noqa: E402,F401
                              not_found, rfc3339, status_object)
from fake_k8s.kubelet import expand_refs  # noqa: E402,F401
from fake_k8s.selectors import (fields_match, labels_match, parse_field_selector,  # noqa: E402,F401
                                parse_label_selector)

__all__ = ["FakeCluster", "Z2JH_HUB_ROLE", "KUBESPAWNER_VERBS"]

if __name__ == "__main__":
    sys.exit(main())
