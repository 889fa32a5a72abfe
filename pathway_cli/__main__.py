from pathway_cli.main import main

raise SystemExit(main())
