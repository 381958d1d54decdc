"""Feeding the MLflow model registry: gold evaluations and training sets where models live.

The office's models live in MLflow; the ``model_version`` of each logged prediction names
the registered version that answered. With ``CAMPAIGNS_MLFLOW_TRACKING_URI`` set, the figures
this project computes go there too:

- ``options``: the registry settings, pure (off unless the tracking URI is set);
- ``records``: what to log, pure: an :class:`~campaigns.model_registry.records.Evaluation`
  per campaign and model version (metrics with bounds, parameters, artifacts, the gold
  dataset, the tags of the registered version), a
  :class:`~campaigns.model_registry.records.DatasetRecord` per training set;
- ``client``: the only code that speaks to MLflow (``mlflow-skinny``'s ``MlflowClient``):
  one run per record, found again by its key so that logging twice adds nothing;
- ``feedback``: what the commands call; MLflow being away or refusing the credentials is a
  warning, never a failed command (the figures are already stored).
"""
