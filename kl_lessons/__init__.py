"""kl_lessons: the algorithms behind the course "The KL penalty of RLHF, checked".

One module per idea, in the order of the lessons:

* :mod:`kl_lessons.divergence`: exact KL, entropy and cross-entropy (lesson 1);
* :mod:`kl_lessons.estimators`: sampled estimators k1, k2, k3 (lesson 2);
* :mod:`kl_lessons.shaped_reward`: the per-token KL-penalised reward (lesson 3);
* :mod:`kl_lessons.optimum`: the tilted optimum and the reward–KL frontier (lesson 4), and the optimum
  with an entropy bonus beside the KL penalty (lesson 8);
* :mod:`kl_lessons.controllers`: fixed, proportional and threshold β control (lesson 5).

Lesson-specific helpers live beside them: :mod:`~kl_lessons.mode_seeking` (1),
:mod:`~kl_lessons.sampling` and :mod:`~kl_lessons.batch_spread` (2), :mod:`~kl_lessons.policy_gradient`,
:mod:`~kl_lessons.response_batch` and :mod:`~kl_lessons.kl_in_loss` (3), :mod:`~kl_lessons.toy_responses` (4),
:mod:`~kl_lessons.plant` (5), the capstone's :mod:`~kl_lessons.tinylm`, :mod:`~kl_lessons.reward_models`,
:mod:`~kl_lessons.rlhf` and :mod:`~kl_lessons.monitor` (6), :mod:`~kl_lessons.toy_sequences` and
:mod:`~kl_lessons.kl_gradients` (7), :mod:`~kl_lessons.dpo` (8), :mod:`~kl_lessons.hf_tiny` and
:mod:`~kl_lessons.trl_run` (9), and :mod:`~kl_lessons.practice_map`, the recipe table of the practice page,
checked against lesson 7's exact gradients; :mod:`~kl_lessons.run_logs` reads a TRL, verl or OpenRLHF log
into the monitor's terms (10). Each lesson is one entry of :mod:`kl_lessons.lessons`; its explorer starts
from its state in :mod:`kl_lessons.explorer_state` and runs as an ES module through
:mod:`kl_lessons.web_widgets`; exercise self-checks are in :mod:`kl_lessons.self_checks`.

The functions under contract (``tests/test_contract.py``) check their input through
:mod:`kl_lessons._validate`: bad input raises ``ValueError`` naming the argument, and a probability vector made in float32 is accepted whether it
comes as a tensor, a list or a float64 array.

All KL values are in nats.
"""

from .controllers import AdaptiveKLController, FixedKLController, ThresholdKLController
from .divergence import cross_entropy, entropy, kl_contributions, kl_divergence
from .estimators import ESTIMATORS, kl_estimate
from .optimum import best_of_n_kl, kl_reward_frontier, regularised_policy, tilted_policy
from .shaped_reward import kl_penalized_rewards

__version__ = "0.1.0"

__all__ = [
    "AdaptiveKLController",
    "ESTIMATORS",
    "FixedKLController",
    "ThresholdKLController",
    "best_of_n_kl",
    "cross_entropy",
    "entropy",
    "kl_contributions",
    "kl_divergence",
    "kl_estimate",
    "kl_penalized_rewards",
    "kl_reward_frontier",
    "regularised_policy",
    "tilted_policy",
]
