"""Label Studio labeling configurations and task payloads, generated from the nomenclature."""
