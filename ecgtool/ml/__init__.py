"""Learning: the beat classifier (JAX/Flax), its training, and domain adaptation.

Importing this package imports JAX; nothing outside ``ecgtool.ml`` does.
"""
