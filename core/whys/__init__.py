"""The five whys: every stoppage's root cause analysis, held in its thread, and the proportional
investments it buys at each level."""
