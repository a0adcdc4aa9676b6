"""Tidal's benchmark harness: run peer apps under load and compare them fairly.

Run it with ``python -m bench run`` (see ``bench/__main__.py``). Peers are only
ever started as server subprocesses, never imported here, so a broken peer can't
take the harness down and every peer pays the same import/startup cost.
"""
