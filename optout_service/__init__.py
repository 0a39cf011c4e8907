"""The opt-out service: decides every fetch of a training-data crawl and logs why."""

__version__ = "0.1.0"
