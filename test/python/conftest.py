"""Unit tests of the Python helpers: pure functions and in-process commands, no tool run, no server."""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
