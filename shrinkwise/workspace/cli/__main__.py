import sys

from shrinkwise.workspace.cli import main

sys.exit(main())
