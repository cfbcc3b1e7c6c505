from workflow.cli.main import main

raise SystemExit(main())
