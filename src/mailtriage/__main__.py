"""Entry point for ``python -m mailtriage``."""

from mailtriage.cli.main import main

if __name__ == "__main__":
    main()
