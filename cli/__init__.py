"""The ``fastplan`` command line (installed as the package ``fastplan_cli``)."""
