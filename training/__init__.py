"""In-repo tools that train rtstyle style banks (``python training/train.py --help``).

Kept out of the installed distribution on purpose (see pyproject.toml): a package named
``training`` must not land bare in site-packages.  Run it from a checkout.
"""
