"""Outbound clients: the device gateway and the payment provider (explicit timeouts; their
failures become domain errors here)."""
