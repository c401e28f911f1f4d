import sys

if sys.argv[1:2] == ["statusline"]:
    # What `claude install --statusline` writes; an unchanged transcript is answered before ctxtop.cli loads.
    from ctxtop import statusline_fast

    if statusline_fast.main(sys.argv[2:]):
        raise SystemExit(0)

from ctxtop.cli import main  # noqa: E402

# Guarded: worker processes started with "spawn" import the main module again.
if __name__ == "__main__":
    raise SystemExit(main())
