"""Runs whose process died: noticed, marked failed, their pool slots freed.

- `workers`: each run is tagged with its worker process (host, pid, start time); whether it lives.
- `pools`: who holds a pool's slots (claimed, or assigned and not yet claimed) and since when;
  freeing the slots of runs that are dead.
- `executor`: the executor wrapper that tags the run, says who blocks it, and lets an interrupt end
  a run that waits for a slot.
- `pool_wait`: a run waits for a slot asleep, not in Dagster's busy loop.
- `launcher`: the run launcher whose health check lets Dagster's run monitoring fail dead runs.
"""
