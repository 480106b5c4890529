"""Reverse distillation: many small bots → a few larger "elders" → new bots, warm-started.

    config.py   DistillConfig: clustering, dataset, elder training and retraining thresholds
    cluster.py  bots grouped into subsets by the embeddings of their recent outputs; the plan
    dataset.py  a composite, deduplicated, balanced dataset of a subset's best guard-passing
                outputs, each tagged with its niche, stored with provenance
    elders.py   versioned elders on disk (LoRA or full fine-tune) and loading them to generate
    train.py    training an elder, conditioned on the niche tag; resumable from a checkpoint
    drift.py    when an elder is due: its subset's centroid shift, token divergence, or age
    pipeline.py plan → dataset → train → record, for `vibeforge distill run`
    spawn.py    a new bot warm-started from the nearest elder's generations, lineage recorded
    outputs.py  a bot's guard-passing outputs with predicted and real rewards; top-up sampling
    experiment.py  the sandbox experiment behind bench/distill.py

Nothing here loads a model or an embedder at import time.
"""
