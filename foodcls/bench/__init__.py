"""Benchmark everything side by side on this machine: `python -m foodcls.bench [--quick]`.

per_model.py times each model as the app serves it, served.py the running app under concurrent users
and its cold start, training.py the training step; report.py writes the tables. Ratios are measured
in one run on one machine; nothing here asserts a speed.
"""
