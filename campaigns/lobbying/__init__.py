"""Lobbying actions: the directory of EU policymakers, letters from supporters to them, delivered
by workers at a pace their offices accept, and the public scorecard of their answers."""
