"""Label Studio projects someone else built, read through a mapping of their controls to ours
(:mod:`.config`) and their results translated into ours (:mod:`.results`). Adopting a project
as a campaign is a lifecycle operation: :mod:`campaigns.lifecycle.adopt`."""
