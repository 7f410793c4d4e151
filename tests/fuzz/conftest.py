"""Hypothesis profiles for the fuzz suite: ``ci`` (the default) and ``long``.

``ci`` is bounded so the whole suite takes well under a minute on two cores with
``-n 2``: few examples per property, a fixed derandomised sequence (a CI run fails
the same way twice) and no shrinking (a failure is reported at once). ``long``
(``SGSCRIPT_FUZZ=long``) draws fresh random examples, fifty times as many, and
shrinks what it finds to a minimal reproducer. Neither keeps an example database,
and hypothesis' caches live under the temporary directory, so nothing is written
to the working tree. See docs/fuzzing.md.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis keeps caches in ./.hypothesis; keep them out of the working tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / f"sgscript-hypothesis-{os.getuid()}")

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=timedelta(seconds=15),
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
    print_blob=False,
)
settings.register_profile(
    "long",
    max_examples=1250,
    deadline=timedelta(seconds=30),
    derandomize=False,
    database=None,
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
    print_blob=True,
)
settings.load_profile(os.environ.get("SGSCRIPT_FUZZ", "ci"))
