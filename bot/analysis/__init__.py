"""The complaint analysis for supervisors (seed 003's periodic report), aggregated in SQL.

One idea per module: periods and their comparisons, the scope a report covers, local-time SQL,
and one module per section of the report; `report` puts the sections together.
"""
