"""Fault injection: real loopback servers that misbehave, and what the monitor makes of them."""
