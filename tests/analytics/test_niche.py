"""The nearest-centroid niche classifier: geometry on constructed vectors, then the real MiniLM
on the seed corpus's niches."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from vibeforge.analytics.niche import NicheClassifier

AXES = {"air": 0, "apple": 1, "music": 2}


def _axis_embed(texts: Sequence[str]) -> np.ndarray:
    """A text "<niche> ..." points along its niche's axis; "mixed" mostly along air's, partly
    along apple's."""
    out = np.zeros((len(texts), 4), dtype=np.float32)
    for row, text in enumerate(texts):
        word = text.split()[0]
        if word == "mixed":
            out[row, [0, 1]] = [0.95, 0.31]
        else:
            out[row, AXES[word]] = 1.0
            out[row, 3] = 0.3  # a shared component every text has
    return out


def test_nearest_centroid_on_known_geometry() -> None:
    clf = NicheClassifier.fit(
        {n: [f"{n} {k}" for k in range(3)] for n in ("music", "air", "apple")}, embed=_axis_embed
    )
    assert clf.niches == ("air", "apple", "music")  # sorted, whatever the input order
    assert clf.classify(["apple x", "air y", "music z", "mixed"]) == [
        "apple",
        "air",
        "music",
        "air",  # 0.95 of air against 0.31 of apple
    ]
    assert clf.accuracy == 1.0 and clf.per_niche_accuracy == {
        "air": 1.0,
        "apple": 1.0,
        "music": 1.0,
    }
    assert clf.off_niche_share(["air a", "air b", "apple c", "music d"], "air") == 0.5
    assert clf.off_niche_share([], "air") is None
    assert clf.classify([]) == []
    sims = clf.similarities(_axis_embed(["air q"]))
    assert sims.shape == (1, 3) and sims[0].argmax() == 0 and sims[0, 0] == pytest.approx(1.0)


def test_accuracy_counts_the_posts_it_misplaces() -> None:
    # "mixed" posts filed under apple stay nearer air even with apple's centroid pulled toward
    # them: 2 of apple's 5 posts are misplaced
    texts = {"air": ["air 1", "air 2", "air 3"], "apple": ["apple 1"] * 3 + ["mixed"] * 2}
    clf = NicheClassifier.fit(texts, embed=_axis_embed)
    assert clf.per_niche_accuracy == {"air": 1.0, "apple": 0.6}
    assert clf.accuracy == pytest.approx(6 / 8)


def test_refuses_what_it_cannot_classify() -> None:
    with pytest.raises(ValueError, match="at least 2 niches"):
        NicheClassifier.fit({"air": ["air 1"]}, embed=_axis_embed)
    with pytest.raises(ValueError, match=r"niches without texts: \['apple'\]"):
        NicheClassifier.fit({"air": ["air 1"], "apple": []}, embed=_axis_embed)
    clf = NicheClassifier.fit({"air": ["air 1"], "apple": ["apple 1"]}, embed=_axis_embed)
    with pytest.raises(ValueError, match="unknown niche 'music'"):
        clf.off_niche_share(["air 2"], "music")


@pytest.mark.slow
def test_minilm_assigns_clear_niche_texts() -> None:
    from vibeforge.sandbox.corpus import niche_tweets

    niches = ("airlines", "apple", "coachella", "allergy")
    clf = NicheClassifier.fit({n: niche_tweets(n, limit=150) for n in niches})
    assert clf.accuracy is not None and clf.accuracy > 0.8, clf.per_niche_accuracy
    clear = {
        "airlines": "my flight got delayed three hours and the gate agent lost my bag",
        "apple": "the new iphone camera is great but the battery life on ios is worse",
        "coachella": "cannot wait for the desert music festival, who headlines the main stage",
        "allergy": "pollen season again, sneezing all day, taking my antihistamine pills",
    }
    assert clf.classify(list(clear.values())) == list(clear)
    assert clf.off_niche_share([clear["apple"], clear["airlines"]], "airlines") == 0.5
