"""The TechEmpower fortunes page as an installed app (``templates/fortunes.html``), shared
by the rendering micro-benchmark ``bench/fortunes_render.py``: the template is plain enough
that Jinja2 (Tidal) and Django's engine read the very same file."""
