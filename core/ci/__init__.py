"""Step 1 of continuous deployment: every commit is tested by the team's CI, and the team hears."""
