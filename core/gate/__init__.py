"""Step 2 of continuous deployment: a commit check that turns "the line is stopped" into a rule."""
