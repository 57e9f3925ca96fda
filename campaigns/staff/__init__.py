"""Staff accounts: who may run campaigns, and what each role may see and do."""
