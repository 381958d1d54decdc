"""The whole training set in NAF 2025: recoded, annotated, predicted, and measured.

A transition campaign (``campaigns.lifecycle.transition``) recodes univocal rows and asks
experts about a sample of the multivocal queue. This package finishes the job:

- ``candidate_model``: a text classifier restricted to each row's own candidates (TF-IDF
  character n-grams + logistic regression per old code, calibrated confidence);
- ``evaluation``: cross-validation of that model on the expert rows against the two naive
  baselines (majority candidate of the observed split, uniform random candidate);
- ``estimation``: design weights over the union of annotation batches (Horvitz-Thompson per
  batch, combined so that every estimate stays unbiased), split and accuracy estimates;
- ``active_batches``: the next batch drawn with probability proportional to the model's
  uncertainty, with a floor, and its inclusion probabilities;
- ``dataset``: every input row with its NAF 2025 code and provenance;
- ``workflow``: the same, read from and written to the campaign's storage and database;
- ``synthetic``: transition inputs with a known truth, for tests, simulations and benchmarks.
"""
