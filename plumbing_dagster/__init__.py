# Dagster's own modules, loaded before ours, live as long as the process: out of the collector's
# way (heap.py).
from plumbing_dagster.heap import freeze_long_lived

freeze_long_lived()
