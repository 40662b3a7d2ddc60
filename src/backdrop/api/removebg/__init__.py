"""remove.bg's API beside LightX's: one synchronous call, the same keys, credits and queue."""
