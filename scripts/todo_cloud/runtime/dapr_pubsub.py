"""What the pinned daprd does with an event, as its sources say, for tests to compute expectations from the
rendered objects rather than from literals:

- `partition(key, partitions)`: the partition a record keyed `key` lands on when published with
  `metadata.partitionKey`: components-contrib's Kafka producer (v1.18, common/component/kafka/partitioner.go)
  wraps sarama's `NewHashPartitioner` (FNV-1a 32 of the key, as a signed int32, modulo the partitions, the
  absolute value taken), not the Java client's murmur2;
- `retry_waits(policy)`: the bounds of each wait between the attempts of a rendered Resiliency retry policy:
  `constant` waits `duration`; `exponential` waits `initialInterval * multiplier^n` (capped at `maxInterval`)
  randomised by +/- `randomizationFactor`, with Dapr's defaults for what the policy leaves out
  (dapr/kit retry.DefaultConfig, i.e. cenkalti/backoff v4's: DAPR_EXPONENTIAL_DEFAULTS); `maxRetries`
  retries after the first attempt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# dapr/kit retry.DefaultConfig() for an exponential policy: cenkalti/backoff v4's defaults (seconds).
DAPR_EXPONENTIAL_DEFAULTS = {"initialInterval": 0.5, "multiplier": 1.5, "randomizationFactor": 0.5,
                             "maxInterval": 60.0}
# The Go constant of cenkalti/backoff v4 (exponential.go) each default above is.
DEFAULT_CONSTANTS = {"initialInterval": "DefaultInitialInterval", "multiplier": "DefaultMultiplier",
                   "randomizationFactor": "DefaultRandomizationFactor", "maxInterval": "DefaultMaxInterval"}
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def seconds(duration: str | float) -> float:
    """A Go duration (`500ms`, `1m30s`, `15s`) or a number of seconds, in seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    parts = _DURATION.findall(str(duration))
    if not parts or "".join(n + u for n, u in parts) != str(duration):
        raise ValueError(f"not a duration: {duration!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _fnv1a32(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def partition(key: bytes, partitions: int) -> int:
    """The partition sarama's hash partitioner gives `key` among `partitions`."""
    signed = _fnv1a32(key)
    if signed >= 1 << 31:
        signed -= 1 << 32
    # Go's int32(h) % n keeps the sign of h; sarama then negates a negative result: |h| % n.
    return abs(signed) % partitions


def retry_waits(policy: Mapping[str, Any]) -> list[tuple[float, float]]:
    """(shortest, longest) wait in seconds before each retry of a rendered retry policy, in order."""
    retries = int(policy["maxRetries"])
    if policy["policy"] == "constant":
        wait = seconds(policy["duration"])
        return [(wait, wait)] * retries
    if policy["policy"] != "exponential":
        raise ValueError(f"retry policy {policy['policy']!r}: constant or exponential")
    cfg: dict[str, Any] = {**DAPR_EXPONENTIAL_DEFAULTS, **policy}
    initial, multiplier = seconds(cfg["initialInterval"]), float(cfg["multiplier"])
    spread, ceiling = float(cfg["randomizationFactor"]), seconds(cfg["maxInterval"])
    out = []
    interval = initial
    for _ in range(retries):
        out.append((interval * (1 - spread), interval * (1 + spread)))
        interval = min(interval * multiplier, ceiling)
    return out
