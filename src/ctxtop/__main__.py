import sys

if sys.argv[1:2] == ["statusline"]:
    # What `claude install --statusline` writes; an unchanged transcript is answered before ctxtop.cli loads.
    from ctxtop import statusline_fast

    if statusline_fast.main(sys.argv[2:]):
        raise SystemExit(0)
elif sys.argv[1:2] == ["report"] and __name__ == "__main__":
    # Likewise a report's kept output on an unchanged history (``ctxtop.cli.main`` asks it only once). Not in
    # a worker process that imports this module again (``__mp_main__``): it never prints.
    from ctxtop import report_fast

    if report_fast.main(sys.argv[2:]):
        raise SystemExit(0)
    report_fast.ASKED = True

from ctxtop.cli import main  # noqa: E402

# Guarded: worker processes started with "spawn" import the main module again.
if __name__ == "__main__":
    raise SystemExit(main())
