from workflow.cli.main.main import main

raise SystemExit(main())
