"""Quality metrics that need no download: structure, style distance and temporal stability.

FID/KID (``inception.py``) additionally need Inception-v3 weights and are skipped without them.
"""
