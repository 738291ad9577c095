from maskvat_foley.plugin.cli import main

raise SystemExit(main())
