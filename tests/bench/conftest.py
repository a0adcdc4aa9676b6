"""Put the repo root on sys.path so ``import bench`` works however pytest is launched.

There is deliberately no ``__init__.py`` here: without ``tests/__init__.py`` it
would make pytest import this directory *as* the ``bench`` package.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
