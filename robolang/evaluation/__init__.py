"""Evaluation: rollouts of controllers on the sim, judged by the captioner's predicates.

``rollout``: the controller protocol and adapters, ``run_episode`` / ``run_instruction``.
``sampler``: feasible (task, objects, instruction) episodes per seed and split.
``suite``: ``robolang eval`` (every task, split and world; chains; a comparison of controllers).
"""
