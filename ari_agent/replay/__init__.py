"""Replay of recorded or scripted calls: the regression corpus runner."""
