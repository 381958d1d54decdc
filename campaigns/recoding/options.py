"""Defaults of the transition commands, kept apart from the models they parametrise so that
``--help``, the API's request schemas and the core share one value without importing numpy,
pandas and scikit-learn."""

DEFAULT_MIN_CONFIDENCE = 0.5
"""Predicted rows under this calibrated confidence go to experts (``transition dataset``)."""

DEFAULT_FLOOR = 0.2
"""Share of a next batch's draw spread uniformly, so that every row keeps a chance."""
