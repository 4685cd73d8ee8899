"""The git hooks Andon installs in a repository: the commit check asked at every push, and the
hook that feeds the built-in CI runner."""
