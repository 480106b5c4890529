"""Nothing heavy at import time: spaCy, Presidio and Faker load only when used."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_importing_privacy_loads_no_model_library() -> None:
    code = (
        "import sys, vibeforge.privacy, vibeforge.privacy.scrub, vibeforge.privacy.pseudonym, "
        "vibeforge.privacy.memorization, vibeforge.privacy.evaluation\n"
        "from vibeforge.privacy import Scrubber, MemorizationIndex\n"
        "print(sorted(m for m in ('spacy', 'presidio_analyzer', 'faker', 'torch', "
        "'tldextract') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_lazy_exports_fail_clearly_on_unknown_names() -> None:
    import vibeforge.privacy as privacy

    assert privacy.ScrubConfig(ner=False).ner is False
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = privacy.Nope
