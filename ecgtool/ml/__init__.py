"""Learning: the beat classifier (JAX/Flax), its training, and domain adaptation.

JAX is imported by what runs the network (the model, training, adaptation,
prediction, loading its parameters), always through :mod:`ecgtool.ml._xla`,
and by nothing outside ``ecgtool.ml``; a model card and the beats-table head
are read without it.
"""
