"""Defaults the drift commands show in their help, kept apart from the statistics they
parametrise so that ``--help`` and the API's start do not import them."""

DEFAULT_MIN_COUNT = 200
"""Fewest scored rows a group needs in each window to get its own report.

With ten confidence bins, the PSI of two samples of the *same* distribution is about
``9 * (1/n_a + 1/n_b)`` (0.09 for 200 rows each, 0.18 for 100), and an empty bin in a small
group inflates it further, so smaller groups would raise alerts on noise alone.
"""
