"""Shared test settings: hypothesis is derandomised so two runs in a row see the same examples."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "kl-lessons", derandomize=True, database=None, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("kl-lessons")
