"""What the project's HTTP services share (the hub, a province, a checkpoint)."""

__all__: list[str] = []
