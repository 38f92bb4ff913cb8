"""Evaluation: rollouts of controllers on the sim, judged by the captioner's predicates.

``rollout``: the controller protocol and adapters, ``run_episode`` / ``run_instruction``.
``sampler``: feasible (task, objects, instruction) episodes per seed and split.
``settings``: ``configs/eval.yaml`` read and checked, the ``controllers`` map as specs.
``policies``: the one place a policy is loaded (the policy package's public API, or ``_target_``).
``outputs``: the output folder (checked first, never replaced silently), the journal, atomic writes.
``suite``: ``robolang eval`` (every task, split and world; chains; a comparison of controllers).
``worker``, ``videos``, ``report``, ``stats``, ``svg``: rollouts per process, the report and its numbers.
"""
