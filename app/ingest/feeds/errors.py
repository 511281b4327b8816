"""What can go wrong with a feed, in words an operator can act on (never a credential)."""


class FeedError(Exception):
    """The feed cannot go on: refused credentials, an answer of the wrong shape, a 4xx."""


class RetryableFeedError(FeedError):
    """Worth trying again after a pause: a 429, a 5xx, a timeout or a dropped connection."""
