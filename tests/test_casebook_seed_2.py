"""Lesson 10's casebook on seed 2: each fault's sign fires, the healthy runs stay silent (see casebook_seeds.py)."""

from casebook_seeds import check_seed


def test_every_case_keeps_its_diagnosis_on_seed_2() -> None:
    check_seed(2)
