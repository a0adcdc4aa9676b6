"""The TechEmpower "world" app: its models and the fortunes template, installed by the
Tidal database peer the way a project installs its own apps."""
