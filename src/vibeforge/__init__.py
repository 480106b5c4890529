"""vibeforge: grow an ecosystem of small language-model bots."""

__version__ = "0.1.0"
