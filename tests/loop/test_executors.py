"""Executors by name, each checking its own options from the settings' `executors:` section."""

from __future__ import annotations

import pytest

from vibeforge.errors import ConfigError
from vibeforge.loop.executors import ExecutorOptions, RayOptions, executor_options, make_executor


def test_each_executor_reads_its_own_section() -> None:
    settings = {"ray": {"num_cpus": 2, "num_gpus": 0.5}}
    assert executor_options("ray", settings) == RayOptions(num_cpus=2, num_gpus=0.5)
    assert executor_options("ray") == RayOptions()
    assert executor_options("local", settings) == ExecutorOptions()


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"ray": {"num_gpu": 1}}, "executors.ray.num_gpu: unknown setting; known: address"),
        ({"ray": {"num_cpus": 0}}, "executors.ray.num_cpus: must be >= 1 (got 0)"),
        ({"local": {"threads": 4}}, "executors.local.threads: unknown setting"),
    ],
)
def test_bad_options_name_the_option(settings, needle) -> None:
    name = next(iter(settings))
    with pytest.raises(ConfigError) as info:
        executor_options(name, settings)
    assert needle in str(info.value)


def test_an_unknown_executor_names_the_known_ones() -> None:
    known = r"unknown executor 'dask'; choose from \['local', 'ray'\]"
    with pytest.raises(ConfigError, match=known):
        make_executor("dask", lambda: None)  # type: ignore[arg-type, return-value]


def test_options_under_a_misspelt_executor_are_an_error() -> None:
    with pytest.raises(ConfigError, match=r"executors\.rey: no such executor"):
        executor_options("local", {"rey": {"num_cpus": 2}})
