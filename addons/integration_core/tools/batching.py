"""Batches sized by time: a cron's committed batches stay short however
loaded the machine is."""


def next_batch_size(size, seconds, target, largest, smallest=10):
    """The rows of the next batch after one of ``size`` rows took
    ``seconds``: as many as its pace allows in ``target`` seconds, but at
    most twice as many (a fast batch says little of the next one's index
    work) and at once fewer when it ran long; between ``smallest`` and
    ``largest``."""
    paced = int(size * target / max(seconds, 1e-6))
    return max(min(smallest, largest), min(largest, 2 * size, paced))
