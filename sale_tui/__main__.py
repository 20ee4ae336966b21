"""`python -m sale_tui` runs the same CLI as the `sale-tui` console script."""

from sale_tui.cli import main

if __name__ == "__main__":
    main()
