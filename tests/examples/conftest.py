"""The examples' test set-up: docs/examples/ on sys.path, imported in debug mode."""

from tests.examples.support import load

# Imported here, before test modules are collected, so that their plain
# ``import echo_socket`` finds the application built with the documented settings.
load("echo_socket")
