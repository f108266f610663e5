"""ari-agent: a self-hosted voice agent for Asterisk."""
