"""Fixed-bin pipelines: the serve path (spot-centred window + spectrum) and the core path."""
