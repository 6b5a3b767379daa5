"""One retry policy for every rsync transfer (backup and restore): transport failures are
tried again after `retry_delay` seconds, doubled each time, `retries` times (`rsync:`)."""

import time
from dataclasses import dataclass

from travelsync.rsync.exits import is_transport_failure


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    first_delay: float = 5.0

    @classmethod
    def of(cls, settings) -> "RetryPolicy":
        """The policy of the `rsync:` settings (config RsyncSettings)."""
        return cls(settings.retries, settings.retry_delay)

    def delays(self) -> list[float]:
        """Seconds to wait before each retry: first_delay, doubled each time."""
        return [self.first_delay * (2 ** attempt) for attempt in range(max(0, self.retries))]


def with_retries(attempt, policy: RetryPolicy, *, is_transport=is_transport_failure, on_retry=None,
                 pause=time.sleep):
    """Call `attempt(number)` (0, 1, …) until its result is not a transport failure or the
    retries are spent; return the last result (the caller decides what a final transport
    failure means). `on_retry(result, delay)` is told before each pause; `pause(seconds)`
    waits (a backup's ends early when the run is stopped)."""
    delays = policy.delays()
    for number in range(len(delays) + 1):
        result = attempt(number)
        if not is_transport(result) or number == len(delays):
            return result
        if on_retry is not None:
            on_retry(result, delays[number])
        pause(delays[number])
