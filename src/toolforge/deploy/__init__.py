"""Always on, many agents, many machines (DESIGN.md §11, docs/deploy.md).

- `settings`: your deployment settings in the user config: evolution budgets, the queue,
  sync intervals;
- `worker`: the evolution worker the daemon runs: reported runs -> trigger -> budgeted
  cycles in the background, one at a time per library; trials, curation and sync on their
  schedules;
- `status`: what the worker is doing, written beside the library for `toolforge cycles`.

The trajectory log behind `--queue` lives in `toolforge.queue`; the git remote in
`toolforge.library.remote`.
"""
