"""Small files fastplan ships (installed as the package ``fastplan_data``)."""
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
