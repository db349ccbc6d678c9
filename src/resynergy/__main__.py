"""``python -m resynergy``: the same command as ``resynergy``."""

from resynergy.cli.main import app

if __name__ == "__main__":
    app(prog_name="resynergy")
