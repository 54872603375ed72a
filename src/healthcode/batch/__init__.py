"""Whole-population evaluation on columnar engines (Polars).

``evaluate_frame`` evaluates the colour rules on a frame of facts documents (one row per
person, built by ``summaries_frame``) and gives every row the scalar evaluator's answer;
``reevaluate`` runs it on people read from the database in columns and writes the results
back in bulk (``batch/reevaluate.py``).
"""

from healthcode.batch.rules import SCHEMA, evaluate_frame, frame_row_key, summaries_frame

__all__ = ["SCHEMA", "evaluate_frame", "frame_row_key", "summaries_frame"]
