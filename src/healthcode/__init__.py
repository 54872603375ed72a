"""healthcode: interoperable health codes.

Provinces issue signed health codes computed from nationally shared core data; every checkpoint
accepts every province's code. See docs/architecture.md for the map of the code.
"""

__version__ = "0.1.0"
