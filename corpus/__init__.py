"""newscorpus: raw scraped news in, clean validated versioned dataset out."""

__version__ = "0.1.0"
BUILDER_NAME = "newscorpus"
SCHEMA_VERSION = "1.0.0"
