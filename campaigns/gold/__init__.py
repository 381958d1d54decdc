"""The gold store: exported annotations and gold, their versions, and the readers of the latest
gold of a campaign, of a stratum or of a text. Export writes it; sampling, metrics, trend and
compare read it. Nothing here knows Label Studio or a sample design."""
