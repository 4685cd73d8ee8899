"""The background work of ``andon serve``: the scheduler and the jobs it calls in — checks,
deploys, digests, the built-in CI runner, the forges' deployment mirror."""
