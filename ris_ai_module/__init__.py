"""ris-ai-module: connects an ultrasound AI host with a hospital RIS/PACS."""

__version__ = "0.1.0"
