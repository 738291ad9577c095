"""MaskVAT Foley: video-to-audio Foley for OpenTimelineIO timelines.

The code lives in maskvat_foley.core (no Qt, no host APIs), maskvat_foley.ui (the PySide6 panel)
and maskvat_foley.plugin (host bridges and the command line).
"""
__version__ = "0.1.0"
