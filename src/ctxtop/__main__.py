from ctxtop.cli import main

raise SystemExit(main())
