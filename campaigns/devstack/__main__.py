"""`python -m campaigns.devstack` (what `make run` runs): start the embedded stack."""

from campaigns.devstack.launcher import main

raise SystemExit(main())
